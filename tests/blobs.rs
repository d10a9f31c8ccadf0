//! The blob store on the local disk and on a real S3-compatible server (moto): streamed
//! multipart writes, whole and ranged reads, blobs made of segments, aborts and deletes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/s3_server.rs"]
mod s3_server;

use bytes::Bytes;
use canvass::store::blobs::{Blobs, Segment};
use futures_util::StreamExt;
use s3_server::S3Server;

/// Deterministic bytes that differ at every offset, so a misplaced range shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn collect(
    mut s: futures_util::stream::BoxStream<'static, canvass::store::blobs::Result<Bytes>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// Everything the upload and evidence code relies on, against one store.
async fn exercise(blobs: &Blobs) {
    // 20 MiB in 1 MiB writes: several 8 MiB multipart parts plus a short last one.
    let data = pattern(20 << 20, 7);
    let mut w = blobs.writer("t/big").await.unwrap();
    for chunk in data.chunks(1 << 20) {
        w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    assert_eq!(w.written(), data.len() as u64);
    assert_eq!(w.finish().await.unwrap(), data.len() as u64);
    assert_eq!(blobs.size("t/big").await.unwrap(), data.len() as u64);
    assert!(
        collect(blobs.read("t/big").await.unwrap()).await == data,
        "whole read differs"
    );
    let r = 5_000_000u64..13_000_001;
    let got = collect(blobs.read_range("t/big", r.clone()).await.unwrap()).await;
    assert!(
        got == data[r.start as usize..r.end as usize],
        "range read differs"
    );
    assert!(
        collect(blobs.read_range("t/big", 9..9).await.unwrap())
            .await
            .is_empty()
    );

    // A blob made of three segments, read across their borders.
    let parts = [pattern(1000, 1), pattern(3, 2), pattern(70_000, 3)];
    let mut segments = Vec::new();
    let mut start = 0u64;
    for (i, p) in parts.iter().enumerate() {
        let key = format!("t/seg/{i}");
        let mut w = blobs.writer(&key).await.unwrap();
        w.write(Bytes::copy_from_slice(p)).await.unwrap();
        w.finish().await.unwrap();
        segments.push(Segment {
            start,
            length: p.len() as u64,
            key,
        });
        start += p.len() as u64;
    }
    let whole: Vec<u8> = parts.concat();
    let all = collect(blobs.read_segments(segments.clone(), 0..start)).await;
    assert!(all == whole, "segments read whole differ");
    for range in [
        0..1u64,
        999..1004,
        1001..1002,
        1002..50_000,
        500..start,
        start - 1..start,
    ] {
        let got = collect(blobs.read_segments(segments.clone(), range.clone())).await;
        assert!(
            got == whole[range.start as usize..range.end as usize],
            "segments range {range:?}"
        );
        let small = blobs.read_small(&segments, range.clone()).await.unwrap();
        assert!(
            small == whole[range.start as usize..range.end as usize],
            "read_small {range:?}"
        );
    }

    // An aborted write leaves nothing at its key.
    let mut w = blobs.writer("t/aborted").await.unwrap();
    w.write(Bytes::from(pattern(10, 9))).await.unwrap();
    w.abort().await.unwrap();
    assert!(
        blobs.size("t/aborted").await.is_err(),
        "an aborted write is visible"
    );

    // Deleting removes; deleting what is gone is not an error.
    blobs.delete("t/big").await.unwrap();
    assert!(blobs.size("t/big").await.is_err());
    blobs.delete("t/big").await.unwrap();
}

#[tokio::test]
async fn local_disk_store_streams_ranges_segments_and_deletes() {
    let dir = tempdir();
    let blobs = Blobs::open(&format!("file://{}", dir.display())).unwrap();
    assert_eq!(blobs.kind(), "file");
    exercise(&blobs).await;
    // Nothing is left behind by the aborted write or the deleted blob.
    let left: Vec<_> = walk(&dir);
    assert!(
        left.iter().all(|p| p.contains("/t/seg/")),
        "stray files: {left:?}"
    );
}

#[tokio::test]
async fn a_local_write_dropped_unfinished_leaves_nothing() {
    let dir = tempdir();
    let blobs = Blobs::open(&format!("file://{}", dir.display())).unwrap();
    let mut w = blobs.writer("t/dropped").await.unwrap();
    // More than a part, so a part is on the disk when the writer goes.
    w.write(Bytes::from(pattern(3 << 20, 4))).await.unwrap();
    drop(w);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !walk(&dir).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "left: {:?}",
            walk(&dir)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_local_key_that_is_not_plain_goes_through_object_store() {
    let dir = tempdir();
    let blobs = Blobs::open(&format!("file://{}", dir.display())).unwrap();
    let data = pattern(2 << 20, 5);
    let mut w = blobs.writer("t/not plain+key").await.unwrap();
    w.write(Bytes::copy_from_slice(&data)).await.unwrap();
    w.finish().await.unwrap();
    let back = collect(blobs.read("t/not plain+key").await.unwrap()).await;
    assert!(back == data, "read back differs");
}

#[tokio::test]
async fn staging_files_a_crash_left_are_swept_and_live_writes_are_not() {
    let dir = tempdir();
    let blobs = Blobs::open(&format!("file://{}", dir.display())).unwrap();
    let hour = std::time::Duration::from_secs(3600);
    let two_hours_ago = std::time::SystemTime::now() - 2 * hour;
    let age = |path: &std::path::Path| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    };
    // An old finished blob, an old staging file (a crash's), and a write in progress.
    let mut old = blobs.writer("t/old").await.unwrap();
    old.write(Bytes::from_static(b"kept")).await.unwrap();
    old.finish().await.unwrap();
    age(&dir.join("t/old"));
    std::fs::create_dir_all(dir.join("u/1")).unwrap();
    std::fs::write(dir.join("u/1/seg#0123abcd"), b"cut off").unwrap();
    age(&dir.join("u/1/seg#0123abcd"));
    let mut live = blobs.writer("t/live").await.unwrap();
    live.write(Bytes::from_static(b"in progress"))
        .await
        .unwrap();

    assert_eq!(blobs.remove_stale_staging(hour).await.unwrap(), 1);
    assert!(!dir.join("u/1/seg#0123abcd").exists());
    assert!(dir.join("t/old").exists(), "a finished blob is never swept");
    live.finish().await.unwrap();
    let back = collect(blobs.read("t/live").await.unwrap()).await;
    assert_eq!(back, b"in progress");
    assert_eq!(blobs.remove_stale_staging(hour).await.unwrap(), 0);
}

#[tokio::test]
async fn s3_store_streams_ranges_segments_and_deletes() {
    let Some(s3) = S3Server::start("s3_store_streams_ranges_segments_and_deletes").await else {
        return;
    };
    let blobs = Blobs::open(&s3.blob_url("canvass")).unwrap();
    assert_eq!(blobs.kind(), "s3");
    exercise(&blobs).await;
    let keys = s3.keys().await;
    assert!(
        keys.iter().all(|k| k.starts_with("canvass/t/seg/")),
        "stray objects: {keys:?}"
    );
    assert_eq!(keys.len(), 3, "{keys:?}");
}

#[test]
fn bad_blob_urls_are_refused_with_the_reason() {
    let e = Blobs::open("ftp://x").unwrap_err().to_string();
    assert!(e.contains("file://") && e.contains("s3://"), "{e}");
    let e = Blobs::open("s3:///prefix").unwrap_err().to_string();
    assert!(e.contains("bucket"), "{e}");
    let e = Blobs::open("s3://b/p?colour=blue").unwrap_err().to_string();
    assert!(e.contains("colour"), "{e}");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("canvass-blobs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}
