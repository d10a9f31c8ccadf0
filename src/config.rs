//! Settings: defaults, then an optional TOML file, then `CANVASS_*` variables, then flags.
//!
//! Every setting is both a `serve` flag (with its `CANVASS_*` variable) and a key in the TOML
//! file, so `canvass serve --help` documents them all in one place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::domain::lockout::LockoutPolicy;
use crate::domain::request::RequestLimits;
use crate::domain::session::SessionPolicy;

/// A setting that cannot be used. Its message is one line that names the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{key}`: {problem}")]
pub struct SettingError {
    /// The setting's key, as in the TOML file.
    pub key: String,
    /// What is wrong and what would be right.
    pub problem: String,
}

fn bad(key: &str, problem: impl Into<String>) -> SettingError {
    SettingError {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $key:ident, $env:literal, $value_name:literal; )*) => {
        /// Settings as flags and `CANVASS_*` variables (`canvass serve --help` lists them).
        #[derive(Debug, Clone, Default, Args)]
        pub struct SettingArgs {
            /// TOML file with settings; its keys are the flags' names with `_` for `-`.
            #[arg(long, env = "CANVASS_CONFIG", value_name = "FILE")]
            pub config: Option<PathBuf>,
            $(
                $(#[doc = $doc])*
                #[arg(long, value_name = $value_name, env = $env)]
                pub $key: Option<String>,
            )*
        }

        /// Settings as read from the TOML file. Unknown keys are refused.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileSettings {
            $( $key: Option<toml::Value>, )*
        }

        impl SettingArgs {
            /// Each setting's raw value and its key: flag or variable first, then the file.
            fn raw(&self, file: &FileSettings) -> Result<Vec<(&'static str, Option<String>)>, SettingError> {
                Ok(vec![
                    $( (stringify!($key), match (&self.$key, &file.$key) {
                        (Some(v), _) => Some(v.clone()),
                        (None, Some(v)) => Some(toml_scalar(stringify!($key), v)?),
                        (None, None) => None,
                    }), )*
                ])
            }
        }
    };
}

settings! {
    /// Address to serve on [default: 127.0.0.1:8080]
    listen, "CANVASS_LISTEN", "ADDR";
    /// Folder for the SQLite database, blobs and generated keys [default: ./canvass-data]
    data_dir, "CANVASS_DATA_DIR", "DIR";
    /// sqlite://FILE or postgres://user@host/db [default: sqlite://DATA_DIR/canvass.db]
    database_url, "CANVASS_DATABASE_URL", "URL";
    /// Base of links in emails and share links [default: http://LISTEN]
    public_url, "CANVASS_PUBLIC_URL", "URL";
    /// file://DIR or s3://bucket/prefix (with the AWS_* variables) [default: file://DATA_DIR/blobs]
    blob_url, "CANVASS_BLOB_URL", "URL";
    /// smtp://host:port or smtps://user:pass@host; email is off without it
    smtp_url, "CANVASS_SMTP_URL", "URL";
    /// Sender of notification emails [default: Canvass <no-reply@HOST of public_url>]
    smtp_from, "CANVASS_SMTP_FROM", "ADDRESS";
    /// Second factor (TOTP) for staff accounts [default: true]
    require_staff_mfa, "CANVASS_REQUIRE_STAFF_MFA", "BOOL";
    /// Map tile URL template for the pages [default: OpenStreetMap]
    tile_url, "CANVASS_TILE_URL", "URL";
    /// Logins per minute from one client address before 429 [default: 10]
    login_rate_per_minute, "CANVASS_LOGIN_RATE_PER_MINUTE", "N";
    /// Resident sign-ups per hour from one client address before 429 [default: 20]
    signup_rate_per_hour, "CANVASS_SIGNUP_RATE_PER_HOUR", "N";
    /// Largest JSON body accepted, in bytes [default: 1048576]
    max_json_bytes, "CANVASS_MAX_JSON_BYTES", "BYTES";
    /// Minutes without a request that end a staff session [default: 30]
    staff_idle_minutes, "CANVASS_STAFF_IDLE_MINUTES", "MIN";
    /// Hours after login that end a staff session [default: 12]
    staff_session_hours, "CANVASS_STAFF_SESSION_HOURS", "HOURS";
    /// Days after login that end a resident session [default: 30]
    resident_session_days, "CANVASS_RESIDENT_SESSION_DAYS", "DAYS";
    /// Failed logins that lock an account [default: 5]
    lockout_threshold, "CANVASS_LOCKOUT_THRESHOLD", "N";
    /// Minutes over which failed logins count [default: 15]
    lockout_window_minutes, "CANVASS_LOCKOUT_WINDOW_MINUTES", "MIN";
    /// Minutes an account stays locked [default: 30]
    lockout_minutes, "CANVASS_LOCKOUT_MINUTES", "MIN";
    /// Smallest request area, square miles [default: 0.025]
    request_min_area_sq_mi, "CANVASS_REQUEST_MIN_AREA_SQ_MI", "SQ_MI";
    /// Largest request area, square miles [default: 0.5]
    request_max_area_sq_mi, "CANVASS_REQUEST_MAX_AREA_SQ_MI", "SQ_MI";
    /// Most positions in a request area's polygon [default: 10000]
    request_max_area_vertices, "CANVASS_REQUEST_MAX_AREA_VERTICES", "N";
    /// Shortest footage timeframe, minutes [default: 15]
    request_min_minutes, "CANVASS_REQUEST_MIN_MINUTES", "MIN";
    /// Longest footage timeframe, hours [default: 12]
    request_max_hours, "CANVASS_REQUEST_MAX_HOURS", "HOURS";
    /// How many days back the footage timeframe may start [default: 30]
    request_max_age_days, "CANVASS_REQUEST_MAX_AGE_DAYS", "DAYS";
    /// Longest request details, characters [default: 2000]
    request_max_details_chars, "CANVASS_REQUEST_MAX_DETAILS_CHARS", "N";
    /// Days after publication that residents may share clips [default: 60]
    response_window_days, "CANVASS_RESPONSE_WINDOW_DAYS", "DAYS";
    /// Accept Web Push endpoints on http://localhost (tests and demos only) [default: false]
    push_allow_loopback_http, "CANVASS_PUSH_ALLOW_LOOPBACK_HTTP", "BOOL";
    /// Notification delivery attempts before giving up [default: 8]
    delivery_max_attempts, "CANVASS_DELIVERY_MAX_ATTEMPTS", "N";
    /// Comments per hour from one account before 429 [default: 30]
    comment_rate_per_hour, "CANVASS_COMMENT_RATE_PER_HOUR", "N";
    /// Serve with the Secure cookie flag even on http (set when TLS ends at a proxy) [default: false]
    secure_cookies, "CANVASS_SECURE_COOKIES", "BOOL";
    /// Largest recording accepted through tus, in bytes [default: 4294967296 (4 GiB)]
    max_upload_bytes, "CANVASS_MAX_UPLOAD_BYTES", "BYTES";
    /// Hours an unfinished upload is kept before it expires and is removed [default: 24]
    upload_expiry_hours, "CANVASS_UPLOAD_EXPIRY_HOURS", "HOURS";
    /// Hours between integrity sweeps that re-hash every evidence blob [default: 168 (weekly)]
    integrity_sweep_hours, "CANVASS_INTEGRITY_SWEEP_HOURS", "HOURS";
    /// Evidence exports one instance streams at once; more wait with 429 [default: 4]
    max_concurrent_exports, "CANVASS_MAX_CONCURRENT_EXPORTS", "N";
    /// Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges, comma-separated [default: none]
    trusted_proxies, "CANVASS_TRUSTED_PROXIES", "LIST";
}

/// The settings the service runs with, all checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Folder for the SQLite database, blobs and keys.
    pub data_dir: PathBuf,
    /// Database URL (the password is never logged; see [`redact_url`]).
    pub database_url: String,
    /// Base of links in emails and share links, without a trailing slash.
    pub public_url: String,
    /// Where blobs are kept.
    pub blob_url: String,
    /// SMTP server, when email is on.
    pub smtp_url: Option<String>,
    /// Sender of notification emails.
    pub smtp_from: String,
    /// Whether staff need a second factor.
    pub require_staff_mfa: bool,
    /// Map tile URL template.
    pub tile_url: String,
    /// Logins per minute per client address.
    pub login_rate_per_minute: u32,
    /// Resident sign-ups per hour per client address.
    pub signup_rate_per_hour: u32,
    /// Largest JSON body accepted.
    pub max_json_bytes: usize,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Lockout after failed logins.
    pub lockout: LockoutPolicy,
    /// Whether cookies carry the Secure flag.
    pub secure_cookies: bool,
    /// The rules a community request must meet.
    pub requests: RequestLimits,
    /// Accept http push endpoints on loopback addresses.
    pub push_allow_loopback_http: bool,
    /// Delivery attempts per notification before it is marked failed.
    pub delivery_max_attempts: u32,
    /// Comments per hour per account.
    pub comment_rate_per_hour: u32,
    /// Largest recording accepted through tus, in bytes.
    pub max_upload_bytes: u64,
    /// How long an unfinished upload is kept.
    pub upload_expiry: chrono::Duration,
    /// Time between integrity sweeps of the evidence blobs.
    pub integrity_sweep_every: chrono::Duration,
    /// Evidence exports streamed at once by one instance.
    pub max_concurrent_exports: u32,
    /// Reverse proxies and load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

fn toml_scalar(key: &str, v: &toml::Value) -> Result<String, SettingError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        other => Err(bad(
            key,
            format!("expected a single value, found {}", other.type_str()),
        )),
    }
}

fn parse_num<T>(key: &str, v: &str, min: T) -> Result<T, SettingError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let n: T = v
        .trim()
        .parse()
        .map_err(|_| bad(key, format!("{v:?} is not a whole number")))?;
    if n < min {
        return Err(bad(key, format!("{n} is below the minimum of {min}")));
    }
    Ok(n)
}

fn parse_bool(key: &str, v: &str) -> Result<bool, SettingError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad(key, format!("{v:?} is not true or false"))),
    }
}

fn check_url(key: &str, v: &str, schemes: &[&str]) -> Result<(), SettingError> {
    let scheme = v.split_once("://").map(|(s, _)| s).unwrap_or("");
    if !schemes.contains(&scheme) {
        return Err(bad(
            key,
            format!(
                "{:?} must start with {}",
                redact_url(v),
                schemes.join("://, ") + "://"
            ),
        ));
    }
    Ok(())
}

/// The URL with any password replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}:***@{host}{slash}{path}")
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    /// Reads the TOML file (when given) and resolves every setting.
    pub fn load(args: &SettingArgs) -> Result<Settings, SettingError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        Self::resolve(args.raw(&file)?)
    }

    fn resolve(raw: Vec<(&'static str, Option<String>)>) -> Result<Settings, SettingError> {
        let get = |key: &str| -> Option<&str> {
            raw.iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.as_deref())
        };
        let listen: SocketAddr = match get("listen") {
            Some(v) => v.trim().parse().map_err(|_| {
                bad(
                    "listen",
                    format!("{v:?} is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = PathBuf::from(get("data_dir").unwrap_or("./canvass-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(bad("data_dir", "must not be empty"));
        }
        let database_url = match get("database_url") {
            Some(v) => {
                check_url("database_url", v, &["sqlite", "postgres", "postgresql"])?;
                v.to_owned()
            }
            None => format!("sqlite://{}", data_dir.join("canvass.db").display()),
        };
        let public_url = match get("public_url") {
            Some(v) => {
                check_url("public_url", v, &["http", "https"])?;
                v.trim_end_matches('/').to_owned()
            }
            None => format!("http://{listen}"),
        };
        let blob_url = match get("blob_url") {
            Some(v) => {
                check_url("blob_url", v, &["file", "s3"])?;
                v.to_owned()
            }
            None => format!("file://{}", data_dir.join("blobs").display()),
        };
        let smtp_url = match get("smtp_url") {
            Some(v) if !v.trim().is_empty() => {
                check_url("smtp_url", v, &["smtp", "smtps"])?;
                Some(v.to_owned())
            }
            _ => None,
        };
        let origin = log_origin_of(&public_url);
        crate::domain::checkpoint::check_origin(&origin).map_err(|e| {
            bad(
                "public_url",
                format!("cannot name the transparency log: {e}"),
            )
        })?;
        let host = public_url
            .split_once("://")
            .map(|(_, r)| r.split(['/', ':']).next().unwrap_or("localhost"))
            .unwrap_or("localhost");
        let smtp_from = get("smtp_from")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Canvass <no-reply@{host}>"));
        let require_staff_mfa = get("require_staff_mfa")
            .map(|v| parse_bool("require_staff_mfa", v))
            .transpose()?
            .unwrap_or(true);
        let tile_url = get("tile_url")
            .unwrap_or("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
            .to_owned();
        let num_i64 = |key: &str, default: i64| -> Result<i64, SettingError> {
            get(key).map_or(Ok(default), |v| parse_num(key, v, 1))
        };
        let num_u32 = |key: &str, default: u32| -> Result<u32, SettingError> {
            get(key).map_or(Ok(default), |v| parse_num(key, v, 1))
        };
        let sessions = SessionPolicy {
            staff_idle: chrono::Duration::minutes(num_i64("staff_idle_minutes", 30)?),
            staff_absolute: chrono::Duration::hours(num_i64("staff_session_hours", 12)?),
            resident_absolute: chrono::Duration::days(num_i64("resident_session_days", 30)?),
        };
        let lockout = LockoutPolicy {
            threshold: num_u32("lockout_threshold", 5)?,
            window: chrono::Duration::minutes(num_i64("lockout_window_minutes", 15)?),
            lock_for: chrono::Duration::minutes(num_i64("lockout_minutes", 30)?),
        };
        let defaults = RequestLimits::default();
        let num_f64 = |key: &str, default: f64| -> Result<f64, SettingError> {
            get(key).map_or(Ok(default), |v| {
                let n: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad(key, format!("{v:?} is not a number")))?;
                if n.is_finite() && n > 0.0 {
                    Ok(n)
                } else {
                    Err(bad(key, format!("{n} must be above 0")))
                }
            })
        };
        let requests = RequestLimits {
            min_area_sq_mi: num_f64("request_min_area_sq_mi", defaults.min_area_sq_mi)?,
            max_area_sq_mi: num_f64("request_max_area_sq_mi", defaults.max_area_sq_mi)?,
            max_area_vertices: get("request_max_area_vertices")
                .map_or(Ok(defaults.max_area_vertices), |v| {
                    parse_num("request_max_area_vertices", v, 4)
                })?,
            min_timeframe: chrono::Duration::minutes(num_i64("request_min_minutes", 15)?),
            max_timeframe: chrono::Duration::hours(num_i64("request_max_hours", 12)?),
            max_age: chrono::Duration::days(num_i64("request_max_age_days", 30)?),
            max_details_chars: get("request_max_details_chars")
                .map_or(Ok(defaults.max_details_chars), |v| {
                    parse_num("request_max_details_chars", v, 1)
                })?,
            max_suspects: defaults.max_suspects,
            response_window: chrono::Duration::days(num_i64("response_window_days", 60)?),
        };
        if requests.min_area_sq_mi >= requests.max_area_sq_mi {
            return Err(bad(
                "request_min_area_sq_mi",
                format!(
                    "{} must be below request_max_area_sq_mi ({})",
                    requests.min_area_sq_mi, requests.max_area_sq_mi
                ),
            ));
        }
        if requests.min_timeframe >= requests.max_timeframe {
            return Err(bad(
                "request_min_minutes",
                "must be shorter than request_max_hours",
            ));
        }
        Ok(Settings {
            push_allow_loopback_http: get("push_allow_loopback_http")
                .map(|v| parse_bool("push_allow_loopback_http", v))
                .transpose()?
                .unwrap_or(false),
            delivery_max_attempts: num_u32("delivery_max_attempts", 8)?,
            comment_rate_per_hour: num_u32("comment_rate_per_hour", 30)?,
            max_upload_bytes: get("max_upload_bytes")
                .map_or(Ok(4 << 30), |v| parse_num("max_upload_bytes", v, 1))?,
            upload_expiry: chrono::Duration::hours(num_i64("upload_expiry_hours", 24)?),
            integrity_sweep_every: chrono::Duration::hours(num_i64("integrity_sweep_hours", 168)?),
            max_concurrent_exports: num_u32("max_concurrent_exports", 4)?,
            trusted_proxies: crate::domain::client_address::parse_trusted_proxies(
                get("trusted_proxies").unwrap_or_default(),
            )
            .map_err(|problem| bad("trusted_proxies", problem))?,
            requests,
            listen,
            data_dir,
            database_url,
            public_url,
            blob_url,
            smtp_url,
            smtp_from,
            require_staff_mfa,
            tile_url,
            login_rate_per_minute: num_u32("login_rate_per_minute", 10)?,
            signup_rate_per_hour: num_u32("signup_rate_per_hour", 20)?,
            max_json_bytes: get("max_json_bytes")
                .map_or(Ok(1 << 20), |v| parse_num("max_json_bytes", v, 1024))?,
            sessions,
            lockout,
            secure_cookies: get("secure_cookies")
                .map(|v| parse_bool("secure_cookies", v))
                .transpose()?
                .unwrap_or(false),
        })
    }

    /// Settings for a data folder with every other setting at its default (tests, tools).
    pub fn for_data_dir(data_dir: &Path) -> Settings {
        let args = SettingArgs {
            data_dir: Some(data_dir.display().to_string()),
            ..SettingArgs::default()
        };
        match Settings::load(&args) {
            Ok(s) => s,
            // The defaults are valid by construction; a failure here is a bug in this file.
            Err(e) => unreachable!("default settings are invalid: {e}"),
        }
    }

    /// The transparency log's name in checkpoints: the public URL without its scheme, plus
    /// `/transparency` (a signed-note name has no spaces or `+`).
    pub fn log_origin(&self) -> String {
        log_origin_of(&self.public_url)
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

fn log_origin_of(public_url: &str) -> String {
    let host = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest);
    format!("{host}/transparency")
}

fn read_file(path: &Path) -> Result<FileSettings, SettingError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        // toml's message spans several lines with a source excerpt; keep the first, which
        // names the key, so the start fails with one line.
        let first = e
            .message()
            .lines()
            .next()
            .unwrap_or("not valid TOML")
            .to_owned();
        let key = first
            .split('`')
            .nth(1)
            .filter(|_| first.starts_with("unknown field"))
            .unwrap_or("config");
        bad(key, format!("{} (in {})", first, path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: SettingArgs) -> Result<Settings, SettingError> {
        Settings::load(&args)
    }

    #[test]
    fn defaults_work_on_one_machine() {
        let s = load(SettingArgs::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./canvass-data/canvass.db");
        assert_eq!(s.blob_url, "file://./canvass-data/blobs");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.smtp_from, "Canvass <no-reply@127.0.0.1>");
        assert!(s.require_staff_mfa);
        assert!(s.smtp_url.is_none());
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = load(SettingArgs {
            listen: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "listen");
        assert!(!e.to_string().contains('\n'));
        let e = load(SettingArgs {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "database_url");
        let e = load(SettingArgs {
            lockout_threshold: Some("0".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "lockout_threshold");
    }

    #[test]
    fn file_values_apply_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("canvass-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\nrequire_staff_mfa = false\nlockout_threshold = 7\n",
        )
        .unwrap();
        let s = load(SettingArgs {
            config: Some(path.clone()),
            lockout_threshold: Some("3".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert!(!s.require_staff_mfa);
        assert_eq!(s.lockout.threshold, 3);
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("canvass-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "listne = \"0.0.0.0:9000\"\n").unwrap();
        let e = load(SettingArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "listne");
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/canvass"),
            "postgres://u:***@db:5432/canvass"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
