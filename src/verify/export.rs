//! `canvass verify-export FILE.zip [--key KEY]`: checks an evidence export offline.
//!
//! It streams every ZIP entry through SHA-256 (a clip is never held in memory whole), reads
//! `manifest.json`, runs [`check_manifest`] and prints one line per check and a summary.
//! Exit codes: [`EXIT_OK`] when every check passes, [`EXIT_PROBLEMS`] when any fails,
//! [`EXIT_UNREADABLE`] when the file cannot be read as an export at all.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sha2::{Digest, Sha256};
use zip::CompressionMethod;
use zip::ZipArchive;
use zip::result::ZipError;

use crate::domain::export::{Check, MANIFEST_FORMAT, MANIFEST_PATH, Manifest, check_manifest};

/// Every check passed.
pub const EXIT_OK: u8 = 0;
/// At least one check failed: the export is not intact.
pub const EXIT_PROBLEMS: u8 = 1;
/// The file is not a readable ZIP, or its manifest is missing or unparseable, or the key
/// file cannot be read: nothing could be checked.
pub const EXIT_UNREADABLE: u8 = 2;

/// The largest manifest read: far above any real one, low enough to refuse a decompression
/// bomb's worth of JSON.
pub const MANIFEST_LIMIT: u64 = 64 * 1024 * 1024;

/// Read buffer for hashing clips.
const CHUNK: usize = 64 * 1024;

/// Why an export could not be read, so nothing could be checked.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened.
    #[error("cannot open {path}: {source}", path = .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a ZIP the reader understands.
    #[error("{path} cannot be read as a ZIP file: {source}", path = .path.display())]
    NotZip {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ZipError,
    },
    /// An entry cannot be read.
    #[error("ZIP entry {name} cannot be read: {reason}")]
    Entry {
        /// The entry's name (or its number when the name is unreadable).
        name: String,
        /// Why.
        reason: String,
    },
    /// An entry is compressed or encrypted; exports store entries as they are.
    #[error(
        "ZIP entry {name} is {how}; Canvass exports store every entry uncompressed, and this verifier reads only those (was the export re-packed?)"
    )]
    Unsupported {
        /// The entry's name.
        name: String,
        /// What it is instead, e.g. "compressed with Deflated".
        how: String,
    },
    /// The ZIP holds no manifest.
    #[error("the export has no {MANIFEST_PATH}")]
    MissingManifest,
    /// The manifest is too large to be real.
    #[error("{MANIFEST_PATH} is larger than {MANIFEST_LIMIT} bytes")]
    ManifestTooLarge,
    /// The manifest is not JSON of the expected shape.
    #[error("{MANIFEST_PATH} is not a {MANIFEST_FORMAT} manifest: {0}")]
    ManifestJson(serde_json::Error),
    /// `--key @FILE` names a file that cannot be read.
    #[error("cannot read the key file {path}: {source}", path = .path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// What was read from an export's ZIP.
#[derive(Debug, Clone)]
pub struct Export {
    /// The parsed `manifest.json`.
    pub manifest: Manifest,
    /// Every file entry but the manifest: name → (hex SHA-256, size), as read.
    pub files: BTreeMap<String, (String, u64)>,
    /// What was wrong with the ZIP itself, found while reading it (each a failed check).
    pub zip_checks: Vec<Check>,
}

/// SHA-256 and length of everything `r` yields, read in chunks.
fn hash_stream(r: &mut impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; CHUNK];
    let mut size = 0_u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn entry_error(name: &str, reason: impl ToString) -> ReadError {
    ReadError::Entry {
        name: name.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads an export: hashes every entry and parses the manifest.
pub fn read_export(path: &Path) -> Result<Export, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut archive =
        ZipArchive::new(io::BufReader::new(file)).map_err(|source| ReadError::NotZip {
            path: path.to_owned(),
            source,
        })?;
    let mut zip_checks = Vec::new();
    // The reader keeps one entry per name; a second entry of the same name is content that
    // another ZIP tool might show instead of what was checked.
    if archive.has_duplicate_names() {
        zip_checks.push(Check {
            what: "zip".to_owned(),
            outcome: Err(
                "the ZIP holds more than one entry under the same name: another tool could show content that was not checked"
                    .to_owned(),
            ),
        });
    }
    let mut files = BTreeMap::new();
    let mut manifest_bytes = None;
    for i in 0..archive.len() {
        let meta = archive
            .by_index_data(i)
            .map_err(|e| entry_error(&format!("#{i}"), e))?;
        let name = meta
            .name()
            .map_err(|e| entry_error(&format!("#{i}"), e))?
            .into_owned();
        if meta.is_dir() {
            continue;
        }
        if meta.encrypted() {
            return Err(ReadError::Unsupported {
                name,
                how: "encrypted".to_owned(),
            });
        }
        if meta.compression() != CompressionMethod::Stored {
            return Err(ReadError::Unsupported {
                how: format!("compressed with {}", meta.compression()),
                name,
            });
        }
        if name == MANIFEST_PATH {
            let entry = archive.by_index(i).map_err(|e| entry_error(&name, e))?;
            let mut bytes = Vec::new();
            entry
                .take(MANIFEST_LIMIT + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| entry_error(&name, e))?;
            if bytes.len() as u64 > MANIFEST_LIMIT {
                return Err(ReadError::ManifestTooLarge);
            }
            manifest_bytes = Some(bytes);
            continue;
        }
        let mut entry = archive.by_index(i).map_err(|e| entry_error(&name, e))?;
        let hashed = match hash_stream(&mut entry) {
            Ok(hashed) => hashed,
            // The bytes do not match the entry's CRC-32. Hash them as stored, so the SHA-256
            // check says whether they are the clip received; say what the ZIP noticed too.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                drop(entry);
                zip_checks.push(Check {
                    what: name.clone(),
                    outcome: Err(format!(
                        "the entry's bytes do not match its ZIP checksum ({e}): damaged or altered"
                    )),
                });
                let mut raw = archive.by_index_raw(i).map_err(|e| entry_error(&name, e))?;
                hash_stream(&mut raw).map_err(|e| entry_error(&name, e))?
            }
            Err(e) => return Err(entry_error(&name, e)),
        };
        files.insert(name, hashed);
    }
    let bytes = manifest_bytes.ok_or(ReadError::MissingManifest)?;
    let manifest = serde_json::from_slice(&bytes).map_err(ReadError::ManifestJson)?;
    Ok(Export {
        manifest,
        files,
        zip_checks,
    })
}

/// The key text itself, or the contents of `FILE` for `@FILE`, trimmed.
pub fn resolve_key(key: &str) -> Result<String, ReadError> {
    match key.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .map_err(|source| ReadError::KeyFile {
                path: PathBuf::from(path),
                source,
            }),
        None => Ok(key.trim().to_owned()),
    }
}

/// The report: a heading, one line per check, a summary; and whether every check passed.
pub fn report(path: &Path, export: &Export, trusted_key: Option<&str>) -> (String, bool) {
    let m = &export.manifest;
    let mut checks = export.zip_checks.clone();
    checks.extend(check_manifest(m, &export.files, trusted_key));
    let mut out = format!(
        "Evidence export {}\n  request {} (public id {}), log index {}\n  agency {} ({})\n  exported {} by {}, {} clip(s)\n\n",
        path.display(),
        m.request.id,
        m.request.public_id,
        m.request.log_index,
        m.agency.name,
        m.agency.id,
        m.exported_at,
        m.exported_by,
        m.items.len()
    );
    let mut failed = 0;
    for c in &checks {
        match &c.outcome {
            Ok(msg) => out.push_str(&format!("OK    {}: {msg}\n", c.what)),
            Err(msg) => {
                failed += 1;
                out.push_str(&format!("FAIL  {}: {msg}\n", c.what));
            }
        }
    }
    out.push('\n');
    if failed == 0 {
        out.push_str(&format!(
            "All {} checks passed: the clips are the ones received, their custody chains are intact, and the request is the one in the log.\n",
            checks.len()
        ));
        if trusted_key.is_none() {
            out.push_str(
                "Note: without --key, the checkpoint was checked only with the key inside the export. \
                 Pass --key with the deployment's /api/v1/transparency/key, obtained separately, \
                 to check that the export was signed by that log.\n",
            );
        }
    } else {
        out.push_str(&format!(
            "{failed} of {} checks FAILED: the export is not intact.\n",
            checks.len()
        ));
    }
    (out, failed == 0)
}

/// Runs `verify-export`: prints the report to stdout (errors to stderr) and answers the exit
/// code: [`EXIT_OK`], [`EXIT_PROBLEMS`] or [`EXIT_UNREADABLE`].
pub fn run(path: &Path, key: Option<&str>) -> ExitCode {
    let key = match key.map(resolve_key).transpose() {
        Ok(key) => key,
        Err(e) => {
            eprintln!("canvass: {e}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    let export = match read_export(path) {
        Ok(export) => export,
        Err(e) => {
            eprintln!("canvass: {e}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    let (text, passed) = report(path, &export, key.as_deref());
    print!("{text}");
    ExitCode::from(if passed { EXIT_OK } else { EXIT_PROBLEMS })
}
