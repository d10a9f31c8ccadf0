//! Blob storage: recordings and evidence, through `object_store`, so one code path serves the
//! local disk (the default) and any S3-compatible store. Bytes are streamed both ways and never
//! held whole in memory.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::task::JoinHandle;
use tokio_util::io::ReaderStream;

/// Errors from blob storage.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The store failed or refused.
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    /// The `blob_url` setting cannot be used.
    #[error("blob_url: {0}")]
    Config(String),
    /// Reading a local file failed.
    #[error("blob file: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for blob results.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// Parts of a multipart write in flight at once: with the part sizes below this bounds the
/// memory of one write to three parts.
const MAX_PARTS_IN_FLIGHT: usize = 2;
/// Each part written to the local disk: small, since memory per upload is what matters there.
const FILE_PART_BYTES: usize = 1 << 20;
/// Each part sent to S3, which needs at least 5 MiB for all but the last.
const S3_PART_BYTES: usize = 5 << 20;
/// Reads from the local disk hand over this much at a time (object_store's own file stream
/// uses 8 KiB pieces, each a blocking task: about ten times slower).
const FILE_READ_BYTES: usize = 256 << 10;

/// One piece of a blob made of several objects (an upload written one tus `PATCH` at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Where the piece starts in the whole blob.
    pub start: u64,
    /// Its length in bytes.
    pub length: u64,
    /// The object holding it.
    pub key: String,
}

/// The blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// `file` or `s3`, for logs and metrics.
    kind: &'static str,
    /// The multipart part size for this store.
    part_bytes: usize,
    /// The folder of a local store, which [`BlobWriter`] writes itself (see [`FileWriter`]).
    root: Option<PathBuf>,
}

impl Blobs {
    /// Opens the store named by `blob_url`: `file:///dir` (created when missing) or
    /// `s3://bucket/prefix`, configured by the usual `AWS_*` variables (`AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`) and by
    /// query options that override them, named as `object_store` names them:
    /// `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&allow_http=true`.
    pub fn open(blob_url: &str) -> Result<Blobs> {
        if let Some(dir) = blob_url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)
                .map_err(|e| BlobError::Config(format!("cannot create {dir}: {e}")))?;
            // fsync before a write is published: a committed tus offset or evidence copy must
            // survive a power cut, not only a process crash.
            let root = std::fs::canonicalize(dir)
                .map_err(|e| BlobError::Config(format!("cannot open {dir}: {e}")))?;
            let local = LocalFileSystem::new_with_prefix(&root)?
                .with_automatic_cleanup(true)
                .with_fsync(true);
            return Ok(Blobs {
                store: Arc::new(local),
                kind: "file",
                part_bytes: FILE_PART_BYTES,
                root: Some(root),
            });
        }
        if let Some(rest) = blob_url.strip_prefix("s3://") {
            crate::install_tls_provider();
            let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BlobError::Config(format!(
                    "{blob_url:?} names no bucket; use s3://bucket/prefix"
                )));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                let key: AmazonS3ConfigKey = key
                    .parse()
                    .map_err(|_| BlobError::Config(format!("unknown S3 option {key:?}")))?;
                builder = builder.with_config(key, value);
            }
            let s3 = builder.build()?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            };
            return Ok(Blobs {
                store,
                kind: "s3",
                part_bytes: S3_PART_BYTES,
                root: None,
            });
        }
        Err(BlobError::Config(format!(
            "{blob_url:?} must start with file:// or s3://"
        )))
    }

    /// `file` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Starts writing a new object at `key`. Nothing is visible at `key` until
    /// [`BlobWriter::finish`]; a writer dropped or aborted leaves nothing behind.
    pub async fn writer(&self, key: &str) -> Result<BlobWriter> {
        let sink = match self.root.as_ref().and_then(|root| local_path(root, key)) {
            Some(dest) => Sink::File(FileWriter::create(dest).await?),
            None => {
                let upload = self.store.put_multipart(&Path::from(key)).await?;
                Sink::Store(WriteMultipart::new_with_chunk_size(upload, self.part_bytes))
            }
        };
        Ok(BlobWriter { sink, written: 0 })
    }

    /// The bytes of `range` of the object at `key`, as a stream.
    pub async fn read_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        if range.is_empty() {
            return Ok(stream::empty().boxed());
        }
        let opts = object_store::GetOptions {
            range: Some(range.into()),
            ..Default::default()
        };
        let got = self.store.get_opts(&Path::from(key), opts).await?;
        stream_of(got).await
    }

    /// The whole object at `key`, as a stream.
    pub async fn read(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        let got = self.store.get(&Path::from(key)).await?;
        stream_of(got).await
    }

    /// The first `len` bytes (or fewer, when the object is shorter) of `range` from a blob
    /// made of `segments`, gathered into memory. For small reads only: headers, boxes.
    pub async fn read_small(&self, segments: &[Segment], range: Range<u64>) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity((range.end - range.start).min(1 << 20) as usize);
        let mut s = self.read_segments(segments.to_vec(), range);
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// `range` of a blob made of `segments` (sorted by start, contiguous), as one stream.
    pub fn read_segments(
        &self,
        segments: Vec<Segment>,
        range: Range<u64>,
    ) -> BoxStream<'static, Result<Bytes>> {
        let this = self.clone();
        let pieces: Vec<(String, Range<u64>)> = segments
            .into_iter()
            .filter_map(|s| {
                let start = range.start.max(s.start);
                let end = range.end.min(s.start + s.length);
                (start < end).then(|| (s.key, (start - s.start)..(end - s.start)))
            })
            .collect();
        stream::iter(pieces)
            .then(move |(key, r)| {
                let this = this.clone();
                async move { this.read_range(&key, r).await }
            })
            .try_flatten()
            .boxed()
    }

    /// The size of the object at `key`.
    pub async fn size(&self, key: &str) -> Result<u64> {
        Ok(self.store.head(&Path::from(key)).await?.size)
    }

    /// Removes the local store's staging files (`name#nonce`) last written more than `age` ago:
    /// what a process stopped mid-write leaves behind (a live writer removes its own). Returns
    /// how many were removed. Other stores have none.
    pub async fn remove_stale_staging(&self, age: std::time::Duration) -> Result<usize> {
        let Some(root) = self.root.clone() else {
            return Ok(0);
        };
        Ok(blocking(move || {
            let cutoff = std::time::SystemTime::now() - age;
            // Folders and files come and go while this walks (writes publish, deletes remove
            // emptied folders): whatever is gone by the time it is looked at is skipped.
            let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            let mut removed = 0;
            let mut folders = vec![root];
            while let Some(folder) = folders.pop() {
                let entries = match std::fs::read_dir(&folder) {
                    Ok(entries) => entries,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let entry = entry?;
                    let stale = |entry: &std::fs::DirEntry| -> std::io::Result<bool> {
                        Ok(entry.file_name().to_string_lossy().contains('#')
                            && entry.metadata()?.modified()? < cutoff)
                    };
                    let outcome = entry.file_type().and_then(|kind| {
                        if kind.is_dir() {
                            folders.push(entry.path());
                            return Ok(false);
                        }
                        if !(kind.is_file() && stale(&entry)?) {
                            return Ok(false);
                        }
                        std::fs::remove_file(entry.path()).map(|()| true)
                    });
                    match outcome {
                        Ok(true) => removed += 1,
                        Ok(false) => {}
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(removed)
        })
        .await?)
    }

    /// Removes the object at `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The bytes of a get: a local file is read in large pieces, anything else as the store sends it.
async fn stream_of(got: GetResult) -> Result<BoxStream<'static, Result<Bytes>>> {
    let range = got.range.clone();
    match got.payload {
        GetResultPayload::File(file, _) => {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let mut file = tokio::fs::File::from_std(file);
            file.seek(std::io::SeekFrom::Start(range.start)).await?;
            let limited = file.take(range.end - range.start);
            Ok(ReaderStream::with_capacity(limited, FILE_READ_BYTES)
                .map_err(BlobError::from)
                .boxed())
        }
        GetResultPayload::Stream(s) => Ok(s.map_err(BlobError::from).boxed()),
    }
}

/// A streaming write of one object.
pub struct BlobWriter {
    sink: Sink,
    written: u64,
}

/// Where a [`BlobWriter`]'s bytes go.
enum Sink {
    /// An `object_store` multipart write (S3).
    Store(WriteMultipart),
    /// A file on the local disk.
    File(FileWriter),
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("written", &self.written)
            .finish()
    }
}

impl BlobWriter {
    /// Appends `bytes`, waiting while too many parts are in flight, so memory stays bounded.
    pub async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.written += bytes.len() as u64;
        match &mut self.sink {
            Sink::Store(w) => {
                w.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
                w.put(bytes);
            }
            Sink::File(w) => w.write(bytes).await?,
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes the object visible at its key.
    pub async fn finish(self) -> Result<u64> {
        match self.sink {
            Sink::Store(w) => {
                w.finish().await?;
            }
            Sink::File(w) => w.finish().await?,
        }
        Ok(self.written)
    }

    /// Drops what was written.
    pub async fn abort(self) -> Result<()> {
        match self.sink {
            Sink::Store(w) => w.abort().await?,
            Sink::File(w) => w.abort().await?,
        }
        Ok(())
    }
}

/// The file under `root` for `key`, when the key is plain (letters, digits, `.`, `_`, `-`
/// between slashes) and so names the same file `object_store`'s local store reads; `None`
/// sends any other key through `object_store`, which encodes it.
fn local_path(root: &std::path::Path, key: &str) -> Option<PathBuf> {
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    key.split('/').all(plain).then(|| root.join(key))
}

/// A new local file, written part by part on blocking threads, published durably by rename as
/// `object_store`'s local store does (file fsync, rename, folder fsync).
///
/// Written by hand for one reason: the disk's write-back of each part is started as soon as
/// the part is in the page cache (`posix_fadvise(DONTNEED)`, which on Linux starts write-back
/// of the range without waiting for it), so the final fsync waits for the last part or two
/// rather than the whole object. That fsync was 40% of each 8 MiB tus `PATCH` through
/// `object_store` (BENCHMARKS.md), where write-back started only when the object was complete.
struct FileWriter {
    file: Arc<std::fs::File>,
    /// The staging file, until it is published or removed.
    staging: Option<PathBuf>,
    dest: PathBuf,
    /// Bytes waiting to be written, fewer than [`FILE_PART_BYTES`].
    parts: Vec<Bytes>,
    buffered: usize,
    /// Where the buffered bytes go in the file.
    offset: u64,
    /// The part being written (at most one, so memory holds at most two parts).
    in_flight: Option<JoinHandle<std::io::Result<()>>>,
}

impl FileWriter {
    /// Creates the staging file beside `dest` (its folders too, made durable).
    async fn create(dest: PathBuf) -> Result<FileWriter> {
        let mut nonce = [0_u8; 8];
        rand::fill(&mut nonce);
        let mut name = dest.clone().into_os_string();
        name.push(format!("#{}", hex::encode(nonce)));
        let staging = PathBuf::from(name);
        let path = staging.clone();
        let file = blocking(move || {
            create_parent_dirs(&path)?;
            std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(&path)
        })
        .await?;
        Ok(FileWriter {
            file: Arc::new(file),
            staging: Some(staging),
            dest,
            parts: Vec::new(),
            buffered: 0,
            offset: 0,
            in_flight: None,
        })
    }

    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.buffered += bytes.len();
        self.parts.push(bytes);
        if self.buffered >= FILE_PART_BYTES {
            self.send().await?;
        }
        Ok(())
    }

    /// Hands the buffered bytes to a blocking thread, after the part before them is written.
    async fn send(&mut self) -> Result<()> {
        self.settle().await?;
        let parts = std::mem::take(&mut self.parts);
        let start = self.offset;
        let len = std::mem::take(&mut self.buffered) as u64;
        self.offset += len;
        let file = Arc::clone(&self.file);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let mut at = start;
            for part in &parts {
                file.write_all_at(part, at)?;
                at += part.len() as u64;
            }
            // Advice only: where it is refused the final fsync writes the part instead.
            let _ = rustix::fs::fadvise(
                &*file,
                start,
                std::num::NonZeroU64::new(len),
                rustix::fs::Advice::DontNeed,
            );
            Ok(())
        }));
        Ok(())
    }

    /// Waits for the part in flight, if any.
    async fn settle(&mut self) -> Result<()> {
        if let Some(part) = self.in_flight.take() {
            part.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<()> {
        if self.buffered > 0 {
            self.send().await?;
        }
        self.settle().await?;
        let file = Arc::clone(&self.file);
        let (Some(staging), dest) = (self.staging.clone(), self.dest.clone()) else {
            return Err(BlobError::Io(std::io::Error::other("written already")));
        };
        blocking(move || {
            file.sync_all()?;
            std::fs::rename(&staging, &dest)?;
            fsync_parent(&dest)
        })
        .await?;
        self.staging = None;
        Ok(())
    }

    async fn abort(mut self) -> Result<()> {
        self.settle().await?;
        if let Some(staging) = self.staging.take() {
            blocking(move || std::fs::remove_file(staging)).await?;
        }
        Ok(())
    }
}

impl Drop for FileWriter {
    /// A writer dropped unfinished (a failed or abandoned request) leaves no staging file.
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || std::fs::remove_file(staging))),
                Err(_) => drop(std::fs::remove_file(staging)),
            }
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}

/// Creates the folders above `path`, then fsyncs each new one and the first that existed, so
/// the new entries survive a power cut.
fn create_parent_dirs(path: &std::path::Path) -> std::io::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let mut first_existing = parent;
    while let Some(up) = first_existing.parent() {
        first_existing = up;
        if up.is_dir() {
            break;
        }
    }
    std::fs::create_dir_all(parent)?;
    let mut dir = parent;
    loop {
        std::fs::File::open(dir)?.sync_all()?;
        if dir == first_existing {
            return Ok(());
        }
        match dir.parent() {
            Some(up) => dir = up,
            None => return Ok(()),
        }
    }
}

/// Fsyncs the folder holding `path`, so a rename into it is durable.
fn fsync_parent(path: &std::path::Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}
