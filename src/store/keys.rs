//! Keys kept in the data folder, generated at first start.

use std::io::Write;
use std::path::Path;

/// Reads a 32-byte secret kept as hex in `path`, or generates and stores one (mode 0600).
pub fn load_or_create_secret(path: &Path) -> std::io::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_hex(text.trim()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold a 64-digit hex key", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut secret = [0_u8; 32];
            rand::fill(&mut secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())?;
                    file.sync_all()?;
                    Ok(secret)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path)
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0_u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("canvass-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("keys").join("k.key");
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "nonsense").unwrap();
        assert!(load_or_create_secret(&path).is_err());
    }
}
