//! `canvass serve --demo`: a small city to try Canvass with, seeded into an empty database.
//!
//! Riverton is fictional; its streets follow a grid so every address is plausible and
//! every home lies inside the police department's jurisdiction.

use std::fmt::Write as _;

use serde_json::json;

use chrono::{Duration, SubsecRound};

use super::auth::hash_password;
use super::{App, AppError, Principal, Result};
use crate::domain::area::{self, Shape};
use crate::domain::request::{self, Contact, Draft, Suspect};
use crate::domain::{Role, mfa};
use crate::store::{NewAgency, NewUser};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "riverton-demo-2026";
/// How many residents the demo city has.
pub const DEMO_RESIDENTS: usize = 60;

/// The jurisdiction's bounds: (west, south, east, north), about 4.7 km by 3.3 km.
pub const BOUNDS: (f64, f64, f64, f64) = (-122.690, 45.500, -122.630, 45.530);

const STREETS: [&str; 12] = [
    "Alder St",
    "Ash St",
    "Birch St",
    "Cedar St",
    "Elm St",
    "Fir St",
    "Hawthorne Blvd",
    "Juniper St",
    "Laurel St",
    "Maple St",
    "Oak St",
    "Willow St",
];
const FIRST: [&str; 20] = [
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Noah", "Fatima", "Liam",
    "Sofia", "Kenji", "Amara", "Lucas", "Hannah", "Diego", "Grace", "Omar", "Elena", "Samuel",
];
const LAST: [&str; 15] = [
    "Garcia",
    "Nguyen",
    "Okafor",
    "Smith",
    "Kowalski",
    "Haddad",
    "Johansson",
    "Patel",
    "Rossi",
    "Kim",
    "Silva",
    "Brown",
    "Ivanova",
    "Mendes",
    "Walker",
];

#[derive(Debug, Clone, Copy)]
enum DemoOutcome {
    Published,
    Pending,
    Rejected,
}

struct DemoRequest {
    incident_type: &'static str,
    details: &'static str,
    days_ago: i64,
    corner: (f64, f64),
    features: Option<&'static [&'static str]>,
    outcome: DemoOutcome,
}

/// The demo's requests, oldest first (the log is in publication order). The oldest was
/// published 75 days ago, past the 60-day window.
const DEMO_REQUESTS: [DemoRequest; 6] = [
    DemoRequest {
        incident_type: "hit_and_run",
        details: "A cyclist was struck at the corner of Oak St and 12th Ave by a dark blue pickup that left the scene heading east. Any footage of the intersection helps.",
        days_ago: 75,
        corner: (-122.680, 45.505),
        features: None,
        outcome: DemoOutcome::Published,
    },
    DemoRequest {
        incident_type: "package_theft",
        details: "Two packages were taken from a porch on the 1200 block of Elm St. We are looking for doorbell or driveway footage of anyone walking up to porches between these times.",
        days_ago: 2,
        corner: (-122.672, 45.512),
        features: Some(&["grey hooded sweatshirt with a white logo", "black backpack"]),
        outcome: DemoOutcome::Published,
    },
    DemoRequest {
        incident_type: "vehicle_break_in",
        details: "Several parked cars had windows smashed overnight near Laurel St and 20th Ave. Footage of the street, especially vehicles driving slowly, would help.",
        days_ago: 5,
        corner: (-122.650, 45.520),
        features: None,
        outcome: DemoOutcome::Published,
    },
    DemoRequest {
        incident_type: "burglary",
        details: "A home on the 800 block of Cedar St was broken into through a back window. Neighbours mentioned a suspicious person in the alley that evening. Footage of the alley behind Cedar St between these times would help.",
        days_ago: 1,
        corner: (-122.660, 45.508),
        features: Some(&[
            "red baseball cap",
            "silver hatchback with a dented rear door",
        ]),
        outcome: DemoOutcome::Pending,
    },
    DemoRequest {
        incident_type: "vandalism",
        details: "Graffiti was sprayed on the garage at 1423 Maple St, owned by victim Jane Morrison. We are looking for footage of anyone near the garage.",
        days_ago: 3,
        corner: (-122.645, 45.515),
        features: None,
        outcome: DemoOutcome::Rejected,
    },
    DemoRequest {
        incident_type: "vandalism",
        details: "Graffiti was sprayed on a garage on the 1400 block of Maple St. Footage of anyone near the garages on that block, especially carrying spray cans, would help.",
        days_ago: 3,
        corner: (-122.645, 45.515),
        features: None,
        outcome: DemoOutcome::Pending,
    },
];

/// One demo account, as printed.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// What the account is for.
    pub role: Role,
    /// Its email.
    pub email: String,
    /// Its TOTP secret, for staff.
    pub totp_secret: Option<String>,
}

/// The demo city's accounts.
#[derive(Debug, Clone)]
pub struct DemoCity {
    /// Whether this start seeded it (false: it was already there).
    pub seeded: bool,
    /// Staff accounts first, then residents.
    pub accounts: Vec<DemoAccount>,
}

const STAFF: [(Role, &str, &str); 5] = [
    (Role::Admin, "admin@canvass.example", "Platform Admin"),
    (Role::Moderator, "moderator@canvass.example", "Morgan Reyes"),
    (
        Role::AgencyAdmin,
        "chief@rivertonpd.example",
        "Chief Dana Holt",
    ),
    (
        Role::Investigator,
        "arivera@rivertonpd.example",
        "Det. A. Rivera",
    ),
    (Role::Investigator, "jkim@rivertonpd.example", "Det. J. Kim"),
];

fn resident_email(i: usize) -> String {
    format!("resident{:02}@riverton.example", i + 1)
}

/// A deterministic sequence in [0, 1): the demo is the same every time.
fn unit(i: usize, salt: u64) -> f64 {
    // splitmix64 of a distinct input per (i, salt), so the two coordinates are independent.
    let mut x = ((i as u64) << 8 | salt)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1_u64 << 53) as f64
}

/// The i-th resident's home: a point inside the bounds and its street address. The first
/// twelve live in the published demo requests' areas, so their feeds and notifications show
/// something; the rest are spread over the city.
pub fn demo_home(i: usize) -> (f64, f64, String) {
    let (w, s, e, n) = BOUNDS;
    let (lon, lat) = if i < 12 {
        let published: Vec<&DemoRequest> = DEMO_REQUESTS
            .iter()
            .filter(|r| matches!(r.outcome, DemoOutcome::Published))
            .collect();
        let (x, y) = published[i % published.len()].corner;
        (
            x + 0.001 + 0.006 * unit(i, 1),
            y + 0.001 + 0.003 * unit(i, 2),
        )
    } else {
        // Keep a margin so homes are well inside the jurisdiction, not on its edge.
        (
            w + (e - w) * (0.03 + 0.94 * unit(i, 1)),
            s + (n - s) * (0.03 + 0.94 * unit(i, 2)),
        )
    };
    // East-west streets are named, avenues are numbered; 100 house numbers a block.
    let street = STREETS[((lat - s) / (n - s) * STREETS.len() as f64) as usize % STREETS.len()];
    let number = 100 + ((lon - w) / (e - w) * 3000.0) as u32 / 2 * 2 + (i as u32 % 2);
    (lat, lon, format!("{number} {street}, Riverton, OR 97214"))
}

impl App {
    /// Seeds the demo city into an empty database. When the demo city is already there, answers
    /// its accounts again; `None` when the database holds other accounts (nothing is touched).
    pub async fn seed_demo(&self) -> Result<Option<DemoCity>> {
        if self.db.count_users().await? > 0 {
            return self.existing_demo().await;
        }
        let now = self.now();
        let (w, s, e, n) = BOUNDS;
        let jurisdiction =
            json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]});
        let agency = self
            .db
            .insert_agency(
                &NewAgency {
                    name: "Riverton Police Department",
                    kind: "law_enforcement",
                    jurisdiction: &jurisdiction,
                    verified: true,
                    evidence_enabled: true,
                    time_zone: "America/Los_Angeles",
                },
                now,
            )
            .await?;
        // One hash for every demo account: they share a password, and Argon2 is slow on purpose.
        let hash = hash_password(DEMO_PASSWORD.to_owned()).await?;
        let mut accounts = Vec::new();
        for (role, email, name) in STAFF {
            let agency_id = role.is_agency_member().then_some(agency.id.as_str());
            let user = self
                .db
                .insert_user(
                    &NewUser {
                        email,
                        password_hash: &hash,
                        role,
                        agency_id,
                        display_name: Some(name),
                        home_address: None,
                        home: None,
                    },
                    now,
                )
                .await?;
            let secret = mfa::new_secret();
            self.db.set_totp_secret(&user.id, &secret, now).await?;
            self.db.enable_totp(&user.id, now).await?;
            accounts.push(DemoAccount {
                role,
                email: email.to_owned(),
                totp_secret: Some(secret),
            });
        }
        for i in 0..DEMO_RESIDENTS {
            let (lat, lon, address) = demo_home(i);
            let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
            let email = resident_email(i);
            self.db
                .insert_user(
                    &NewUser {
                        email: &email,
                        password_hash: &hash,
                        role: Role::Resident,
                        agency_id: None,
                        display_name: Some(&name),
                        home_address: Some(&address),
                        home: Some((lat, lon)),
                    },
                    now,
                )
                .await?;
            accounts.push(DemoAccount {
                role: Role::Resident,
                email,
                totp_secret: None,
            });
        }
        self.seed_demo_requests(&agency.id, &jurisdiction).await?;
        self.seed_demo_residents_life().await?;
        self.seed_demo_evidence().await?;
        Ok(Some(DemoCity {
            seeded: true,
            accounts,
        }))
    }

    /// Requests in every state: published (open, and one past its response window), one
    /// pending review with findings, one rejected.
    async fn seed_demo_requests(
        &self,
        agency_id: &str,
        jurisdiction: &serde_json::Value,
    ) -> Result<()> {
        let jurisdiction = area::parse(jurisdiction, Shape::PolygonOrMulti)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("demo jurisdiction: {e}")))?;
        let investigator = self
            .db
            .user_by_email("arivera@rivertonpd.example")
            .await?
            .ok_or(AppError::NotFound("demo investigator"))?;
        let moderator = self
            .db
            .user_by_email("moderator@canvass.example")
            .await?
            .ok_or(AppError::NotFound("demo moderator"))?;
        let now = self.now().trunc_subsecs(0);
        for (i, demo) in DEMO_REQUESTS.iter().enumerate() {
            // Each request lives at its own time: footage a little before it was submitted.
            let submitted = now - Duration::days(demo.days_ago);
            let end = submitted - Duration::hours(6);
            let start = end - Duration::hours(2);
            let (lon, lat) = demo.corner;
            let draft = Draft {
                incident_type: demo.incident_type.into(),
                details: demo.details.into(),
                footage_start: start.to_rfc3339(),
                footage_end: end.to_rfc3339(),
                investigator: Contact {
                    name: "Det. A. Rivera".into(),
                    phone: "+1-503-555-0142".into(),
                    email: "arivera@rivertonpd.example".into(),
                },
                area: json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.008, lat], [lon + 0.008, lat + 0.005], [lon, lat + 0.005], [lon, lat]]]}),
                investigation_code: format!("RPD-2026-{:05}", 4100 + i),
                ongoing_threat: demo.incident_type == "missing_person",
                suspects: demo
                    .features
                    .map(|f| {
                        vec![Suspect {
                            descriptors: [
                                ("sex".to_owned(), "male".to_owned()),
                                ("age".to_owned(), "20s".to_owned()),
                            ]
                            .into_iter()
                            .collect(),
                            distinctive_features: f.iter().map(|s| (*s).to_owned()).collect(),
                        }]
                    })
                    .unwrap_or_default(),
            };
            let valid =
                request::validate(&draft, &jurisdiction, submitted, &self.settings.requests)?;
            let id = self
                .insert_request(agency_id, &investigator.id, &valid, submitted)
                .await?;
            let record = self
                .db
                .request(&id)
                .await?
                .ok_or(AppError::NotFound("demo request"))?;
            let decided = submitted + Duration::hours(1);
            match demo.outcome {
                DemoOutcome::Published => {
                    self.publish(&moderator.id, &record, &[], None, decided)
                        .await?
                }
                DemoOutcome::Rejected => {
                    let reasons = ["victim_privacy".to_owned()];
                    let note = "Please remove the house number and the victim's name; the block is enough.";
                    self.reject(&moderator.id, &record, &reasons, Some(note), decided)
                        .await?;
                }
                DemoOutcome::Pending => {}
            }
        }
        Ok(())
    }

    /// Some residents opt out (every 7th of Community Requests, every 5th of email), and
    /// residents in the published areas comment, with a reply from the investigator.
    async fn seed_demo_residents_life(&self) -> Result<()> {
        let now = self.now();
        for i in 0..DEMO_RESIDENTS {
            let Some(user) = self.db.user_by_email(&resident_email(i)).await? else {
                continue;
            };
            let settings = crate::store::ResidentSettings {
                community_requests: i % 7 != 6,
                push: true,
                email: i % 5 != 4,
            };
            self.db
                .save_resident_settings(&user.id, settings, now)
                .await?;
        }
        let investigator = self
            .db
            .user_by_email("arivera@rivertonpd.example")
            .await?
            .ok_or(AppError::NotFound("demo investigator"))?;
        let lines = [
            "My doorbell camera faces the street; I'll check the recording tonight.",
            "We were away that evening, sorry. Hope you find them.",
        ];
        for record in self.db.requests(None, 50).await? {
            if record.status != "published" {
                continue;
            }
            let mut said = 0;
            for i in 0..DEMO_RESIDENTS {
                let (lat, lon, _) = demo_home(i);
                if said < lines.len()
                    && super::residents::area_holds(&record, lat, lon)?
                    && let Some(user) = self.db.user_by_email(&resident_email(i)).await?
                {
                    let at = now - Duration::hours(2)
                        + Duration::minutes(i64::try_from(said).unwrap_or(0) * 10);
                    self.db
                        .insert_comment(&record.id, &user.id, false, lines[said], at)
                        .await?;
                    said += 1;
                }
            }
            if said > 0 {
                let reply =
                    "Thank you. Any footage helps; you can share clips from the request page.";
                let at = now - Duration::minutes(30);
                self.db
                    .insert_comment(&record.id, &investigator.id, true, reply, at)
                    .await?;
            }
        }
        Ok(())
    }

    /// Cameras with sample clips for the first residents inside each open request's area; each
    /// shares its porch clip, so the agency's evidence lists are not empty. The clips are the
    /// test fixtures (`tests/fixtures/`, made with ffmpeg), built into the binary.
    async fn seed_demo_evidence(&self) -> Result<()> {
        const PORCH: &[u8] = include_bytes!("../../tests/fixtures/porch-cam.mp4");
        const DRIVEWAY: &[u8] = include_bytes!("../../tests/fixtures/driveway-cam.mp4");
        const PER_REQUEST: usize = 2;
        let now = self.now();
        for record in self.db.requests(None, 50).await? {
            let open = record.response_deadline.is_some_and(|d| d > now);
            if record.status != "published" || !open {
                continue;
            }
            let mut sharing = 0;
            for i in 0..DEMO_RESIDENTS {
                let (lat, lon, _) = demo_home(i);
                if sharing == PER_REQUEST || !super::residents::area_holds(&record, lat, lon)? {
                    continue;
                }
                let Some(user) = self.db.user_by_email(&resident_email(i)).await? else {
                    continue;
                };
                let resident = Principal::without_session(user, None);
                let (device, _token) = self
                    .create_device(&resident, "Front door camera", Some((lat, lon)))
                    .await?;
                // Two clips inside the footage the request asks for; the first is shared.
                let start =
                    record.content.footage_start + Duration::minutes(35 + 10 * sharing as i64);
                let mut recordings = Vec::new();
                for (n, (clip, name)) in [(PORCH, "porch.mp4"), (DRIVEWAY, "driveway.mp4")]
                    .into_iter()
                    .enumerate()
                {
                    let began = start + Duration::minutes(20 * n as i64);
                    let id = self
                        .demo_recording(&resident, &device.id, clip, name, began)
                        .await?;
                    recordings.push(id);
                }
                let ids = json!([recordings[0]]);
                self.share_recordings(&resident, &record.id, None, Some(&ids), Some(&json!(true)))
                    .await?;
                sharing += 1;
            }
        }
        Ok(())
    }

    /// Uploads `clip` through the same path as tus, as a recording of `device_id` that began
    /// at `began` and lasted six seconds (the fixtures' length).
    async fn demo_recording(
        &self,
        resident: &Principal,
        device_id: &str,
        clip: &'static [u8],
        filename: &str,
        began: chrono::DateTime<chrono::Utc>,
    ) -> Result<String> {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let at =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let metadata = format!(
            "device_id {},started_at {},ended_at {},filename {}",
            b64(device_id),
            b64(&at(began)),
            b64(&at(began + Duration::seconds(6))),
            b64(filename)
        );
        let uploader = self.uploader(resident.clone()).await?;
        let upload = self
            .create_upload(&uploader, clip.len() as u64, Some(&metadata))
            .await?;
        let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
            bytes::Bytes::from_static(clip),
        )]);
        self.append_upload(&uploader, &upload.id, 0, None, body)
            .await?;
        Ok(upload.id)
    }

    async fn existing_demo(&self) -> Result<Option<DemoCity>> {
        let mut accounts = Vec::new();
        for (role, email, _) in STAFF {
            let Some(user) = self.db.user_by_email(email).await? else {
                return Ok(None);
            };
            accounts.push(DemoAccount {
                role,
                email: user.email,
                totp_secret: user.totp_secret,
            });
        }
        for i in 0..DEMO_RESIDENTS {
            accounts.push(DemoAccount {
                role: Role::Resident,
                email: resident_email(i),
                totp_secret: None,
            });
        }
        Ok(Some(DemoCity {
            seeded: false,
            accounts,
        }))
    }
}

impl DemoCity {
    /// The accounts to log in with, as a table for the terminal.
    pub fn describe(&self, public_url: &str, require_staff_mfa: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Demo city {}: Riverton Police Department (verified, evidence account on)",
            if self.seeded {
                "seeded"
            } else {
                "already seeded"
            }
        );
        let _ = writeln!(
            out,
            "It has published requests (one past its 60-day window) with comments, two pending review and one \
             rejected; some residents have opted out of Community Requests or of email.\n\
             Residents in the open requests' areas have cameras with sample clips, and each has shared \
             one: the requests' evidence lists, custody logs and exports are ready to try."
        );
        let _ = writeln!(out, "Every demo account's password: {DEMO_PASSWORD}");
        let _ = writeln!(
            out,
            "Sign in at {public_url} or POST {public_url}/api/v1/auth/login"
        );
        if require_staff_mfa {
            let _ = writeln!(
                out,
                "Staff need a TOTP code: add the secret to an authenticator app, or run `oathtool --totp -b SECRET`."
            );
        } else {
            let _ = writeln!(
                out,
                "Staff MFA is off (require_staff_mfa = false): staff sign in with the password alone."
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{:<14} {:<32} TOTP secret", "role", "email");
        for a in self.accounts.iter().filter(|a| a.role.is_staff()) {
            let _ = writeln!(
                out,
                "{:<14} {:<32} {}",
                a.role.as_str(),
                a.email,
                a.totp_secret.as_deref().unwrap_or("-")
            );
        }
        let residents: Vec<&DemoAccount> = self
            .accounts
            .iter()
            .filter(|a| !a.role.is_staff())
            .collect();
        if let (Some(first), Some(last)) = (residents.first(), residents.last()) {
            let _ = writeln!(
                out,
                "{:<14} {} … {} ({} residents)",
                "resident",
                first.email,
                last.email,
                residents.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_are_inside_the_jurisdiction_and_spread_out() {
        let (w, s, e, n) = BOUNDS;
        let homes: Vec<_> = (0..DEMO_RESIDENTS).map(demo_home).collect();
        for (lat, lon, addr) in &homes {
            assert!(*lon > w && *lon < e && *lat > s && *lat < n, "{addr}");
            assert!(addr.ends_with("Riverton, OR 97214"));
        }
        // Every quarter of the city has someone living in it.
        let mid_lat = (s + n) / 2.0;
        let mid_lon = (w + e) / 2.0;
        for (north, east) in [(false, false), (false, true), (true, false), (true, true)] {
            assert!(
                homes
                    .iter()
                    .any(|(lat, lon, _)| (*lat > mid_lat) == north && (*lon > mid_lon) == east)
            );
        }
    }
}
