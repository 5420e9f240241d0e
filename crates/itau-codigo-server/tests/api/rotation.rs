//! Rotating the API password without a restart: the password file holds the old and
//! the new password during a rotation, and `serve` reloads it when it changes (or on
//! SIGHUP), without refusing a request whose password was valid when it was sent.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use itau_codigo_server::auth::Credentials;

use crate::helpers::*;
use crate::process::ServeProcess;

const OLD: &str = "0ld-Rot4ting-Pw-Longa";
const NEW: &str = "n3w-Rot4ting-Pw-Longa";

/// Replaces the file at once (a new file renamed over it), as secret managers do.
fn replace(file: &Path, content: &str) {
    let next = file.with_extension("next");
    std::fs::write(&next, content).unwrap();
    std::fs::rename(&next, file).unwrap();
}

fn reloads(http: Http, outcome: &str) -> u64 {
    let metrics = String::from_utf8(http.get("/metrics").body).unwrap();
    let prefix = format!("itau_codigo_credential_reloads_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
        .parse()
        .unwrap()
}

fn wait_for_reloads(http: Http, outcome: &str, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads(http, outcome) < count {
        assert!(Instant::now() < deadline, "no {outcome} reload #{count}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_as(http: Http, password: &str) -> u16 {
    let body = format!(r#"{{"codigo_conta":"{TRES_GERENTES}"}}"#);
    http.post_as(USERNAME, password, &body, &[]).status
}

/// Sends requests with `password` until `stop`, returning every status seen.
fn steady_load(
    http: Http,
    password: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u16>> {
    std::thread::spawn(move || {
        let mut statuses = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            statuses.push(status_as(http, password));
        }
        statuses
    })
}

#[test]
fn rotating_the_password_file_refuses_no_request_with_a_then_valid_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-password");
    std::fs::write(&file, format!("{OLD}\n")).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let credentials = Credentials::from_env(
        |name| match name {
            "ITAU_CODIGO_USERNAME" => Some(USERNAME.to_owned()),
            "ITAU_CODIGO_PASSWORD_FILE" => Some(path.clone()),
            _ => None,
        },
        false,
    )
    .unwrap();
    let app = TestApp::builder()
        .config(move |config| config.credentials = credentials)
        .spawn();
    let (old_client, new_client) = (app.from("127.0.0.2"), app.from("127.0.0.3"));

    let stop_old = Arc::new(AtomicBool::new(false));
    let old_load = steady_load(old_client, OLD, Arc::clone(&stop_old));
    std::thread::sleep(Duration::from_millis(300));
    // First step: both passwords.
    replace(&file, &format!("{OLD}\n{NEW}\n"));
    wait_for_reloads(*app, "ok", 1);
    let stop_new = Arc::new(AtomicBool::new(false));
    let new_load = steady_load(new_client, NEW, Arc::clone(&stop_new));
    std::thread::sleep(Duration::from_millis(500));
    // The old client has switched: only then does the old password go.
    stop_old.store(true, Ordering::Relaxed);
    let old_statuses = old_load.join().unwrap();
    replace(&file, &format!("{NEW}\n"));
    wait_for_reloads(*app, "ok", 2);
    std::thread::sleep(Duration::from_millis(300));
    stop_new.store(true, Ordering::Relaxed);
    let new_statuses = new_load.join().unwrap();

    for (client, statuses) in [("old", &old_statuses), ("new", &new_statuses)] {
        assert!(statuses.len() > 10, "{client}: {} requests", statuses.len());
        assert!(
            statuses.iter().all(|&status| status == 200),
            "{client} password: {statuses:?}"
        );
    }
    assert_eq!(status_as(*app, OLD), 401);
    assert_eq!(status_as(*app, NEW), 200);

    // A file that cannot be used keeps the last good set.
    let mut failed = 0;
    for bad in ["", "\n", "L1ne-One-X\nL1ne-Two-X\nL1ne-Three-X\n"] {
        replace(&file, bad);
        failed += 1;
        wait_for_reloads(*app, "failed", failed);
        assert_eq!(status_as(*app, NEW), 200, "after {bad:?}");
        assert_eq!(status_as(*app, "L1ne-One-X"), 401, "after {bad:?}");
    }
    std::fs::remove_file(&file).unwrap();
    wait_for_reloads(*app, "failed", failed + 1);
    assert_eq!(status_as(*app, NEW), 200, "after the file went away");
    assert_eq!(reloads(*app, "ok"), 2);
}

#[test]
fn serve_rereads_the_password_file_on_sighup_and_logs_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-password");
    std::fs::write(&file, format!("{OLD}\n")).unwrap();
    let (_db_dir, db) = demo_db();
    let server = ServeProcess::start(
        &["--db", db.to_str().unwrap()],
        &[
            ("ITAU_CODIGO_USERNAME", USERNAME),
            ("ITAU_CODIGO_PASSWORD_FILE", file.to_str().unwrap()),
        ],
    );
    let http = server.http();
    assert_eq!(status_as(http, OLD), 200);
    // Rewritten in place to the same size and modification time, so that polling has
    // nothing to see once the rewrite is done (it may still catch the rewrite midway,
    // between the write and the restored time: hence counting reloads, not assuming
    // none happened); SIGHUP makes serve read the file whatever it looks like.
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(&file, format!("{NEW}\n")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    let before = reloads(http, "ok");
    server.signal("HUP");
    wait_for_reloads(http, "ok", before + 1);
    assert_eq!(status_as(http, NEW), 200);
    assert_eq!(status_as(http, OLD), 401);
    // A bad file: logged, never quoted.
    std::fs::write(&file, "L1ne-One-X\nL1ne-Two-X\nL1ne-Three-X\n").unwrap();
    wait_for_reloads(http, "failed", 1);
    assert_eq!(status_as(http, NEW), 200);
    // A password shorter than the rule: refused like a bad file, saying why.
    std::fs::write(&file, "Sh0rt-Pw\n").unwrap();
    wait_for_reloads(http, "failed", 2);
    assert_eq!(status_as(http, NEW), 200);
    assert_eq!(status_as(http, "Sh0rt-Pw"), 401);
    let (status, logs) = server.terminate();
    assert_eq!(status, 0, "{logs}");
    assert!(logs.contains("password file reloaded"), "{logs}");
    assert!(logs.contains("password file not reloaded"), "{logs}");
    assert!(logs.contains("shorter than 16 characters"), "{logs}");
    for secret in [
        OLD,
        NEW,
        "L1ne-One-X",
        "L1ne-Two-X",
        "L1ne-Three-X",
        "Sh0rt-Pw",
    ] {
        assert!(!logs.contains(secret), "{secret} in\n{logs}");
    }
}
