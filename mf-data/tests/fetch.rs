//! `fetch` against a local HTTP server serving zips built here.

use std::io::{Read, Write};
use std::net::TcpListener;

use mf_data::{fetch, load_dataset, DataError};

const TRAIN: &str = "1\t1.0\t2.0\t3.0\n2\t4.0\t5.0\t6.0\n";
const TEST: &str = "@problemName Toy\n@classLabel true 1 2\n@data\n1,2,3:1\n";

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Serves `routes` (path -> body, 404 otherwise) on 127.0.0.1 and returns the base URL.
fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, b)) => ("200 OK", b.clone()),
                None => ("404 Not Found", b"not here".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn fetch_downloads_checks_and_installs_a_data_set() {
    let zip = zip_of(&[
        ("Toy/readme.txt", "x"),
        ("Toy/Toy_TRAIN.tsv", TRAIN),
        ("nested/dir/Toy_TEST.ts", TEST),
    ]);
    let len = zip.len() as u64;
    let base = serve(vec![("/Toy.zip", zip)]);
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let d = fetch(
        "Toy",
        Some(&format!("{base}/Toy.zip")),
        dir.path(),
        &mut |n, total| seen.push((n, total)),
    )
    .unwrap();
    assert_eq!(d.train.n_series(), 2);
    assert_eq!(d.test.as_ref().unwrap().n_series(), 1);
    assert_eq!(seen.last(), Some(&(len, Some(len))));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Toy/Toy_TRAIN.tsv")).unwrap(),
        TRAIN
    );
    assert!(dir.path().join("Toy/Toy_TEST.ts").is_file());
    // Nothing but the two data files is left behind (no temporary files).
    assert_eq!(
        std::fs::read_dir(dir.path().join("Toy")).unwrap().count(),
        2
    );
    assert_eq!(load_dataset(dir.path(), "Toy").unwrap(), d);
}

#[test]
fn fetch_reports_404_corrupt_zip_missing_files_and_bad_content() {
    let base = serve(vec![
        ("/corrupt.zip", b"PK\x03\x04 this is not a zip".to_vec()),
        ("/empty.zip", zip_of(&[("other.txt", "x")])),
        ("/bad.zip", zip_of(&[("Toy_TRAIN.tsv", "1\t2\n1\tabc\n")])),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let get = |path: &str| {
        fetch(
            "Toy",
            Some(&format!("{base}{path}")),
            dir.path(),
            &mut |_, _| {},
        )
    };
    match get("/missing.zip") {
        Err(DataError::Download { url, msg }) => {
            assert!(url.ends_with("/missing.zip"));
            assert!(msg.contains("404"), "{msg}");
        }
        other => panic!("expected a download error, got {other:?}"),
    }
    match get("/corrupt.zip") {
        Err(DataError::Download { msg, .. }) => assert!(msg.contains("zip"), "{msg}"),
        other => panic!("expected a download error, got {other:?}"),
    }
    match get("/empty.zip") {
        Err(DataError::Download { msg, .. }) => assert!(msg.contains("Toy_TRAIN"), "{msg}"),
        other => panic!("expected a download error, got {other:?}"),
    }
    match get("/bad.zip") {
        Err(DataError::Parse { path, line, .. }) => {
            assert_eq!((path.as_str(), line), ("Toy_TRAIN.tsv", 2))
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    // Failed downloads install nothing.
    assert!(!dir.path().join("Toy").join("Toy_TRAIN.tsv").exists());
}
