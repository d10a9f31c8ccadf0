//! Blob storage: recordings and evidence, through `object_store`, so one code path serves the
//! local disk (the default) and any S3-compatible store. Bytes are streamed both ways and never
//! held whole in memory.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
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
            let local = LocalFileSystem::new_with_prefix(dir)?
                .with_automatic_cleanup(true)
                .with_fsync(true);
            return Ok(Blobs {
                store: Arc::new(local),
                kind: "file",
                part_bytes: FILE_PART_BYTES,
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
        let upload = self.store.put_multipart(&Path::from(key)).await?;
        Ok(BlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, self.part_bytes),
            written: 0,
        })
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
    inner: WriteMultipart,
    written: u64,
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
        self.inner.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
        self.written += bytes.len() as u64;
        self.inner.put(bytes);
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes the object visible at its key.
    pub async fn finish(self) -> Result<u64> {
        let n = self.written;
        self.inner.finish().await?;
        Ok(n)
    }

    /// Drops what was written.
    pub async fn abort(self) -> Result<()> {
        self.inner.abort().await?;
        Ok(())
    }
}
