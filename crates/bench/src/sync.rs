//! `sync`: a client returning after many changes catches up, over
//! `GET /sync` or a WebSocket opened with `?since=`.

use std::time::Instant;

use anyhow::{Context as _, bail};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::bulk::{chats_of, fill};
use crate::client::Context;
use crate::report::{Latency, Report, histogram};

/// Stores `changes` messages in `chats` chats (batch imports, one change
/// each) after taking a token, then replays them from the token: changes/s,
/// and the latency of each page (REST) or the time to `synced` (WebSocket).
pub async fn replay(
    ctx: &Context,
    changes: usize,
    chats: usize,
    page: usize,
    websocket: bool,
) -> anyhow::Result<Report> {
    let owner = ctx.users(1).await?.remove(0);
    let chats = chats_of(ctx, &owner, chats.max(1)).await?;
    let now: Value = ctx
        .http
        .get(ctx.url("/api/v1/sync"))
        .bearer_auth(&owner.token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let since = now["next_token"].as_str().context("a token")?.to_owned();
    let per_chat = changes.div_ceil(chats.len());
    let (_, _, errors) = fill(ctx, &owner, &chats, per_chat, 1000, 4).await?;
    if errors > 0 {
        bail!("{errors} batches failed while storing the changes");
    }
    let expected = per_chat * chats.len();
    let cpu = ctx.watch.snapshot();
    let mut latencies = histogram();
    let started = Instant::now();
    let mut received = 0usize;
    let mut pages = 0u64;
    if websocket {
        let url = format!("{}&since={since}", ctx.ws_url(&owner.token));
        let (mut stream, _) = tokio_tungstenite::connect_async(url).await?;
        while let Some(frame) = stream.next().await {
            let frame = frame?;
            let Ok(text) = frame.to_text() else { continue };
            let event: Value = serde_json::from_str(text)?;
            match event["type"].as_str() {
                Some("synced") => break,
                Some("ready") => {}
                Some(_) => received += 1,
                None => bail!("a frame without a type: {text}"),
            }
        }
        pages = 1;
        let _ = latencies.record(started.elapsed().as_micros() as u64);
    } else {
        let mut token = since;
        loop {
            let t = Instant::now();
            let answer: Value = ctx
                .http
                .get(ctx.url(&format!("/api/v1/sync?since={token}&limit={page}")))
                .bearer_auth(&owner.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let _ = latencies.record(t.elapsed().as_micros() as u64);
            pages += 1;
            received += answer["changes"].as_array().map_or(0, Vec::len);
            token = answer["next_token"]
                .as_str()
                .context("a next token")?
                .to_owned();
            if answer["has_more"] != true {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let cpu_end = ctx.watch.snapshot();
    if received < expected {
        bail!("replayed {received} changes, expected at least {expected}");
    }
    Ok(Report {
        scenario: "sync",
        parameters: json!({
            "changes": expected,
            "chats": chats.len(),
            "page": page,
            "transport": if websocket { "websocket" } else { "rest" },
        }),
        throughput_per_sec: received as f64 / elapsed.as_secs_f64(),
        unit: "changes",
        operations: pages,
        errors: 0,
        latency: Some(Latency::from_micros(&latencies)),
        extra: json!({"seconds": elapsed.as_secs_f64(), "received": received}),
        cpu: Some(cpu.until(&cpu_end, received as u64)),
    })
}
