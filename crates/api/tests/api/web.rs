//! The web client at `/` (SPEC §10): served by the binary, strict CSP, no
//! inline code, small.

use crate::helpers::{TestApp, assert_problem, header};

#[tokio::test]
async fn the_app_is_served_at_the_root_with_a_strict_policy_and_no_inline_code() {
    let app = TestApp::spawn().await;
    let mut total = 0;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app/app.js", "text/javascript"),
        ("/app/style.css", "text/css"),
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            header(&response, "content-type").is_some_and(|t| t.starts_with(kind)),
            "{path}"
        );
        let policy = header(&response, "content-security-policy").expect("a policy");
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
        assert_eq!(
            header(&response, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let body = response.text().await.expect("body");
        total += body.len();
        if path == "/" {
            // Scripts and styles only as files: the policy forbids inline.
            assert!(body.contains(r#"<script type="module" src="/app/app.js"></script>"#));
            assert_eq!(body.matches("<script").count(), 1);
            assert!(!body.contains("<style") && !body.contains(" style="));
            assert!(
                !has_event_handler_attribute(&body),
                "inline handlers: {body}"
            );
        }
        if path == "/app/app.js" {
            // User content only ever reaches the page as text.
            assert!(!body.contains("innerHTML") && !body.contains("insertAdjacentHTML"));
            assert!(!body.contains("eval(") && !body.contains("new Function"));
        }
    }
    assert!(
        total < 150 * 1024,
        "first load under 150 KB even uncompressed: {total}"
    );
    assert_problem(
        app.client
            .get(app.url("/app/nope.js"))
            .send()
            .await
            .expect("get"),
        404,
        "not_found",
    )
    .await;
}

/// Whether `html` has an attribute like ` onclick=` (inline code).
fn has_event_handler_attribute(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let rest = &html[at + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}
