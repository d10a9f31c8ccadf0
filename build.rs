//! Embeds the pages' files in the binary, so `canvass` stays one file to deploy.
//!
//! - Front-end packages come from the npm registry through `package.json` and
//!   `package-lock.json`. When `node_modules/` is missing or older than the lock file, this runs
//!   `npm ci --ignore-scripts` (no package's install script ever runs). Only the files the pages
//!   load are copied, with their licences, into `$OUT_DIR/vendor/`; nothing from npm is
//!   committed.
//! - Our own files in `assets/` and the templates in `templates/` are embedded as they are.
//! - Every asset is also gzipped here, once, so it is served compressed at no cost per request.
//! - `$OUT_DIR/assets.rs` lists the assets (path, bytes, gzipped bytes) and a version: a hash of
//!   all of them, which goes into every asset URL so browsers may cache them for a year.
//!   `$OUT_DIR/templates.rs` lists the templates.
//!
//! Cargo reruns this only when the lock file, `assets/` or `templates/` change, so a build
//! with nothing changed stays fast.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// (file in node_modules, where it is served under `/assets/VERSION/`). Only these are shipped.
const VENDOR: &[(&str, &str)] = &[
    ("leaflet/dist/leaflet.js", "vendor/leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.css", "vendor/leaflet/leaflet.css"),
    (
        "leaflet/dist/images/layers.png",
        "vendor/leaflet/images/layers.png",
    ),
    (
        "leaflet/dist/images/layers-2x.png",
        "vendor/leaflet/images/layers-2x.png",
    ),
    (
        "leaflet/dist/images/marker-icon.png",
        "vendor/leaflet/images/marker-icon.png",
    ),
    (
        "leaflet/dist/images/marker-icon-2x.png",
        "vendor/leaflet/images/marker-icon-2x.png",
    ),
    (
        "leaflet/dist/images/marker-shadow.png",
        "vendor/leaflet/images/marker-shadow.png",
    ),
    ("leaflet/LICENSE", "vendor/leaflet/LICENSE.txt"),
    (
        "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
        "vendor/geoman/leaflet-geoman.js",
    ),
    (
        "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
        "vendor/geoman/leaflet-geoman.css",
    ),
    (
        "@geoman-io/leaflet-geoman-free/LICENSE",
        "vendor/geoman/LICENSE.txt",
    ),
    ("htmx.org/dist/htmx.min.js", "vendor/htmx/htmx.js"),
    ("htmx.org/LICENSE", "vendor/htmx/LICENSE.txt"),
    ("tus-js-client/dist/tus.min.js", "vendor/tus/tus.js"),
    ("tus-js-client/LICENSE", "vendor/tus/LICENSE.txt"),
];

type BoxError = Box<dyn std::error::Error>;

fn main() {
    if let Err(e) = run() {
        // A panic would bury the message in a backtrace; this is what the developer must read.
        eprintln!("error: building Canvass's page assets failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), BoxError> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // `migrations` too: `sqlx::migrate!` embeds them, and on stable Rust cannot ask cargo to
    // rebuild when one is added.
    for watched in [
        "package.json",
        "package-lock.json",
        "assets",
        "templates",
        "migrations",
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }

    install_packages(&root)?;

    // Every asset: (URL path under /assets/VERSION/, file to embed).
    let mut assets: Vec<(String, PathBuf)> = Vec::new();
    for (from, to) in VENDOR {
        let source = root.join("node_modules").join(from);
        let bytes = std::fs::read(&source).map_err(|e| {
            format!(
                "{} is missing ({e}); delete node_modules/ and build again",
                source.display()
            )
        })?;
        let dest = out.join(to);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_if_changed(&dest, &strip_source_map(to, bytes))?;
        assets.push(((*to).to_owned(), dest));
    }
    let own = root.join("assets");
    for file in files_under(&own)? {
        let rel = relative(&own, &file)?;
        assets.push((rel, file));
    }
    // The generated code names files relative to `env!("CARGO_MANIFEST_DIR")` and
    // `env!("OUT_DIR")`, never by the absolute path this script saw: a target folder shared
    // by two checkouts must not compile one checkout's files into the other.
    let at = |file: &Path| -> Result<String, BoxError> {
        for (var, dir) in [("OUT_DIR", &out), ("CARGO_MANIFEST_DIR", &root)] {
            if let Ok(rel) = file.strip_prefix(dir) {
                let rel = rel.to_str().ok_or("a non-UTF-8 file name")?;
                return Ok(format!("concat!(env!({var:?}), {:?})", format!("/{rel}")));
            }
        }
        Err(format!("{} is outside the crate and OUT_DIR", file.display()).into())
    };
    assets.sort();

    // The version: FNV-1a over every path and content. Stable across builds of the same files.
    let mut version = Fnv::new();
    let mut listing = String::new();
    listing.push_str("/// Every embedded asset: (path, bytes, gzipped bytes).\n");
    listing.push_str("pub static ASSETS: &[(&str, &[u8], &[u8])] = &[\n");
    for (path, file) in &assets {
        let bytes = std::fs::read(file)?;
        version.update(path.as_bytes());
        version.update(&[0]);
        version.update(&bytes);
        let gz = out.join("gz").join(format!("{path}.gz"));
        if let Some(dir) = gz.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_if_changed(&gz, &gzip(&bytes)?)?;
        writeln!(
            listing,
            "    ({path:?}, include_bytes!({}), include_bytes!({})),",
            at(file)?,
            at(&gz)?
        )?;
    }
    listing.push_str("];\n");
    writeln!(
        listing,
        "/// A hash of every asset: part of every asset URL.\npub const VERSION: &str = \"{:012x}\";",
        version.finish() >> 16
    )?;
    write_if_changed(&out.join("assets.rs"), listing.as_bytes())?;

    let templates_dir = root.join("templates");
    let mut templates = String::new();
    templates.push_str("/// Every template: (name, source).\n");
    templates.push_str("pub static TEMPLATES: &[(&str, &str)] = &[\n");
    for file in files_under(&templates_dir)? {
        let name = relative(&templates_dir, &file)?;
        writeln!(templates, "    ({name:?}, include_str!({})),", at(&file)?)?;
    }
    templates.push_str("];\n");
    write_if_changed(&out.join("templates.rs"), templates.as_bytes())?;
    Ok(())
}

/// Runs `npm ci` when `node_modules/` is missing or older than the lock file.
fn install_packages(root: &Path) -> Result<(), BoxError> {
    let lock = root.join("package-lock.json");
    // npm writes this file at the end of every install: its age is the install's age.
    let installed = root.join("node_modules").join(".package-lock.json");
    let lock_time = modified(&lock).ok_or("package-lock.json is missing")?;
    if modified(&installed).is_some_and(|t| t >= lock_time) {
        return Ok(());
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(npm)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(root)
        .status()
        .map_err(|e| {
            format!(
                "cannot run `npm` ({e}). The pages' JavaScript packages (Leaflet, htmx, \
                 tus-js-client) are installed from the npm registry at build time: install \
                 Node.js and npm (Debian: `apt-get install nodejs npm`) and build again"
            )
        })?;
    if !status.success() {
        return Err(format!(
            "`npm ci --ignore-scripts` failed ({status}); its output is above. It needs the npm \
             registry and a package-lock.json that matches package.json"
        )
        .into());
    }
    // `npm ci` may keep the old file time when nothing changed; mark the install as current.
    if modified(&installed).is_none_or(|t| t < lock_time) {
        let contents = std::fs::read(&installed)?;
        std::fs::write(&installed, contents)?;
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The files under `dir`, recursively, sorted; hidden files are skipped.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(base: &Path, file: &Path) -> Result<String, BoxError> {
    let rel = file.strip_prefix(base)?;
    let parts: Vec<&str> = rel
        .components()
        .map(|c| c.as_os_str().to_str().ok_or("a file name is not UTF-8"))
        .collect::<Result<_, _>>()?;
    Ok(parts.join("/"))
}

/// Drops the `sourceMappingURL` comment: the maps are not shipped, and a reference to a missing
/// file shows as an error in the browser's developer tools.
fn strip_source_map(path: &str, bytes: Vec<u8>) -> Vec<u8> {
    if !(path.ends_with(".js") || path.ends_with(".css")) {
        return bytes;
    }
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        return bytes;
    };
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//# sourceMappingURL=") || t.starts_with("/*# sourceMappingURL="))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Writes only when the content differs, so unchanged files keep their time and rustc does not
/// rebuild the crate for them.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), BoxError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

/// FNV-1a, 64 bits: enough to tell one set of assets from another in a URL.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
