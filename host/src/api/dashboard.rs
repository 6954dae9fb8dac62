//! The dashboard: one page and its two assets, embedded in the binary
//! (`host/assets/dashboard/`), no CDN, no external request. The page reads
//! the API (`/api/v1/summary`, `/api/v1/meters`, `/api/v1/tempo/outlook`,
//! `/api/v1/readings`, `/api/v1/curve`, `/api/v1/temperatures`) and draws
//! its charts itself, in inline SVG.

use super::ApiError;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const APP_JS: &str = include_str!("../../assets/dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../assets/dashboard/style.css");

/// Every asset: name, content type, body.
const ASSETS: [(&str, &str, &str); 2] = [
    ("app.js", "text/javascript; charset=utf-8", APP_JS),
    ("style.css", "text/css; charset=utf-8", STYLE_CSS),
];

/// Nothing but the page's own files: no inline script, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

fn with_headers(body: &'static str, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /`: the page (it ignores its query: `lang` and `token` are read by
/// the script, the token also by the authentication layer).
pub async fn page() -> Response {
    with_headers(INDEX, "text/html; charset=utf-8")
}

/// `GET /assets/{file}`.
pub async fn asset(
    file: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let name = file.map(|Path(f)| f).unwrap_or_default();
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => with_headers(body, content_type),
        None => ApiError::not_found(format!(
            "no asset {name:?}: the dashboard has {}",
            ASSETS.map(|(n, _, _)| n).join(", ")
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_refers_only_to_its_own_assets() {
        for (name, _, _) in ASSETS {
            assert!(INDEX.contains(&format!("assets/{name}")), "{name}");
        }
        for text in [INDEX, APP_JS, STYLE_CSS] {
            // The SVG namespace is a name, not a request.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("//cdn"));
        }
        // No inline script (the CSP forbids it).
        assert!(!INDEX.contains("<script>"));
    }
}
