//! The web client at `/` (SPEC §10): served by the binary, strict CSP, no
//! inline code, small.

use crate::helpers::{TestApp, assert_problem, header};

#[tokio::test]
async fn the_app_is_served_at_the_root_with_a_strict_policy_and_no_inline_code() {
    let app = TestApp::spawn().await;
    let mut compressed = 0;
    // Every module the page loads, found by following its imports (so a
    // module missing from the server's table fails here).
    let mut queue = vec!["/".to_owned(), "/app/style.css".to_owned()];
    let mut seen = std::collections::HashSet::new();
    let mut preloaded = std::collections::HashSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let response = app
            .client
            .get(app.url(&path))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{path}");
        let kind = match path.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            _ => "text/html",
        };
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
        assert_eq!(
            header(&response, "content-encoding").as_deref(),
            Some("gzip")
        );
        let etag = header(&response, "etag").expect("an etag");
        let gzipped = response.bytes().await.expect("body");
        compressed += gzipped.len();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut body)
            .expect("gzip");

        // Unchanged: 304 without a body; without gzip: the plain text.
        let again = app
            .client
            .get(app.url(&path))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), 304, "{path}");
        let plain = app.client.get(app.url(&path)).send().await.expect("get");
        assert!(header(&plain, "content-encoding").is_none());
        assert_eq!(plain.text().await.expect("body"), body);

        if path == "/" {
            // Scripts and styles only as files: the policy forbids inline.
            assert!(body.contains(r#"<script type="module" src="/app/app.js"></script>"#));
            assert_eq!(body.matches("<script").count(), 1);
            assert!(!body.contains("<style") && !body.contains(" style="));
            assert!(
                !has_event_handler_attribute(&body),
                "inline handlers: {body}"
            );
            queue.push("/app/app.js".to_owned());
            // Preloaded modules are served too.
            for link in body.split(r#"<link rel="modulepreload" href=""#).skip(1) {
                let href = link.split('"').next().expect("a quoted href").to_owned();
                preloaded.insert(href.clone());
                queue.push(href);
            }
        }
        if kind == "text/javascript" {
            // User content only ever reaches the page as text.
            assert!(!body.contains("innerHTML") && !body.contains("insertAdjacentHTML"));
            assert!(!body.contains("outerHTML") && !body.contains("document.write"));
            assert!(!body.contains("eval(") && !body.contains("new Function"));
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let module = line.split('"').nth(1).expect("import \"./x.js\"");
                queue.push(format!("/app/{}", module.trim_start_matches("./")));
            }
        }
    }
    assert!(seen.len() > 3, "{seen:?}");
    // Every imported module is preloaded (no waterfall of import levels).
    for module in seen
        .iter()
        .filter(|p| p.ends_with(".js") && *p != "/app/app.js")
    {
        assert!(preloaded.contains(module), "{module} is not preloaded");
    }
    assert!(
        compressed < 150 * 1024,
        "first load under 150 KB compressed: {compressed}"
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
