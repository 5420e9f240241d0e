//! `GET /docs`: an interactive reference of `/openapi.json` (Swagger UI, vendored from
//! npm and embedded in the binary; see `assets/docs/README.md`). No credentials, no
//! data: the page only renders the public document, and "Try it out" sends what the
//! reader types straight to the API. `serve --docs false` leaves these routes out.
//!
//! The page carries a strict Content-Security-Policy (scripts, styles and requests from
//! this origin only; no inline script or style). Assets are served under names that
//! hold a digest of their content, so they are cached for a year and a new binary never
//! meets a stale copy.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::paths::{DOCS_ASSETS, DOCS_PATH};

/// The page's policy: everything from this origin only, nothing inline, no framing.
/// `img-src data:` is for the icons inside Swagger UI's stylesheet (and the empty
/// favicon); `connect-src 'self'` is what "Try it out" needs, and all it may reach.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../../assets/docs/index.html");

/// Embedded files: (name in `assets/docs`, content type, bytes).
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui.css"),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/docs.js"),
    ),
    (
        "docs.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs/docs.css"),
    ),
];

/// An asset under its content-addressed name (`swagger-ui.0123456789abcdef.css`).
struct Asset {
    hashed_name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

struct Site {
    index: String,
    assets: Vec<Asset>,
}

/// Hashing the 2 MB of assets takes a few milliseconds, once, on the first request.
static SITE: LazyLock<Site> = LazyLock::new(|| {
    let assets: Vec<Asset> = ASSETS
        .into_iter()
        .map(|(name, content_type, bytes)| Asset {
            hashed_name: hashed_name(name, bytes),
            content_type,
            bytes,
        })
        .collect();
    let index = ASSETS
        .iter()
        .zip(&assets)
        .fold(INDEX_HTML.to_owned(), |page, ((name, _, _), asset)| {
            page.replace(&format!("{{{{{name}}}}}"), &asset.hashed_name)
        });
    Site { index, assets }
});

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{short}.{extension}"),
        None => format!("{name}.{short}"),
    }
}

/// Registers `/docs` and its assets (GET and HEAD; other methods get a 405).
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(super::read_only(DOCS_PATH, page))
        .service(super::read_only(DOCS_ASSETS, asset));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // The page names the assets of this binary: always ask again.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(SITE.index.as_str())
}

async fn asset(request: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = SITE.assets.iter().find(|a| a.hashed_name == *file) else {
        return super::route_not_found(request).await;
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored files and their digests, as recorded in `assets/docs/SHA256SUMS`.
    const SHA256SUMS: &str = include_str!("../../assets/docs/SHA256SUMS");

    fn hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn recorded(name: &str) -> &'static str {
        SHA256SUMS
            .lines()
            .find_map(|line| {
                let (digest, file) = line.split_once("  ")?;
                (file == name).then_some(digest)
            })
            .unwrap_or_else(|| panic!("{name} is not in assets/docs/SHA256SUMS"))
    }

    #[test]
    fn vendored_files_match_their_recorded_sha256() {
        let vendored: [(&str, &[u8]); 5] = [
            ("swagger-ui-bundle.js", ASSETS[0].2),
            ("swagger-ui.css", ASSETS[1].2),
            (
                "swagger-ui-bundle.js.LICENSE.txt",
                include_bytes!("../../assets/docs/swagger-ui-bundle.js.LICENSE.txt"),
            ),
            ("LICENSE", include_bytes!("../../assets/docs/LICENSE")),
            ("NOTICE", include_bytes!("../../assets/docs/NOTICE")),
        ];
        assert_eq!(ASSETS[0].0, "swagger-ui-bundle.js");
        assert_eq!(ASSETS[1].0, "swagger-ui.css");
        for (name, bytes) in vendored {
            assert_eq!(hex(bytes), recorded(name), "assets/docs/{name} changed");
        }
        assert_eq!(SHA256SUMS.lines().count(), vendored.len());
    }

    #[test]
    fn the_page_names_every_asset_by_its_hash_and_has_no_inline_script_or_style() {
        let page = &SITE.index;
        assert!(!page.contains("{{"), "a placeholder is left: {page}");
        for asset in &SITE.assets {
            assert!(
                page.contains(&format!("\"docs/assets/{}\"", asset.hashed_name)),
                "{} is not linked from the page",
                asset.hashed_name
            );
        }
        assert!(!page.contains("<style") && !page.contains("style="));
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=").count()
        );
    }

    #[test]
    fn hashed_names_keep_the_extension() {
        assert_eq!(
            hashed_name("a.js", b""),
            "a.e3b0c44298fc1c14.js",
            "SHA-256 of nothing starts e3b0c442"
        );
    }
}
