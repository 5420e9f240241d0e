//! `/docs` over HTTP: headers, caching, methods, `--docs false`. Whether the page works
//! in a browser is `tests/browser.rs`.

use crate::helpers::*;

/// The asset paths the page links to.
fn assets(page: &str) -> Vec<String> {
    page.split('"')
        .filter(|part| part.starts_with("docs/assets/"))
        .map(|part| format!("/{part}"))
        .collect()
}

#[test]
fn the_docs_page_needs_no_credentials_and_carries_a_strict_csp() {
    let app = TestApp::builder().spawn();
    let page = app.get("/docs");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));

    let head = app.request("HEAD", "/docs", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn docs_assets_are_served_with_their_types_and_cached_for_a_year() {
    let app = TestApp::builder().spawn();
    let page = String::from_utf8(app.get("/docs").body).unwrap();
    let assets = assets(&page);
    assert_eq!(assets.len(), 4, "{page}");
    for path in assets {
        let response = app.get(&path);
        assert_eq!(response.status, 200, "{path}");
        let expected = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(response.header("content-type"), Some(expected), "{path}");
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert!(!response.body.is_empty(), "{path}");
    }
    let unknown = app.get("/docs/assets/swagger-ui-bundle.0000000000000000.js");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.problem_type(), "route-not-found");
}

#[test]
fn other_methods_on_docs_are_405_and_its_requests_have_their_own_metrics_label() {
    let app = TestApp::builder().spawn();
    let post = app.request("POST", "/docs", &[], b"");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(post.problem_type(), "method-not-allowed");
    app.get("/docs");
    let metrics = String::from_utf8(app.get("/metrics").body).unwrap();
    assert!(
        metrics.contains("itau_codigo_http_requests_total{route=\"/docs\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("itau_codigo_http_requests_total{route=\"/docs\",status=\"405\"} 1"),
        "{metrics}"
    );
}

#[test]
fn with_docs_off_docs_is_an_unknown_path() {
    let app = TestApp::builder()
        .config(|config| config.docs = false)
        .spawn();
    for path in ["/docs", "/docs/assets/docs.js"] {
        let response = app.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.problem_type(), "route-not-found");
    }
}

#[test]
fn the_docs_flag_takes_true_false_1_0_yes_no() {
    use clap::Parser;
    use itau_codigo_server::cli::{Cli, Command};
    let docs = |args: &[&str]| {
        let cli = Cli::try_parse_from(["itau-codigo", "serve"].iter().chain(args))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let Command::Serve(serve) = cli.command else {
            unreachable!()
        };
        serve.docs
    };
    assert!(docs(&[]), "on by default");
    for (value, expected) in [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("false", false),
        ("0", false),
        ("no", false),
    ] {
        assert_eq!(docs(&["--docs", value]), expected, "--docs {value}");
    }
    assert!(Cli::try_parse_from(["itau-codigo", "serve", "--docs", "maybe"]).is_err());
}
