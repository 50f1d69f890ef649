//! Scenarios of whole transcripts: `import` (batches vs single sends),
//! `export` (NDJSON streaming) and `search` (over a large corpus).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::{Context, User};
use crate::report::{Latency, Report, histogram};

/// A deterministic vocabulary: syllable words, so queries hit a spread of
/// frequencies, and a few Chinese phrases for substring queries.
struct Corpus {
    words: Vec<String>,
    cjk: Vec<&'static str>,
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ren", "tu", "sha", "vel", "or", "ne", "pi", "dra", "gus", "fen", "qui",
    "bo", "tra", "zel", "mu", "sor", "ty", "lan", "ce", "wok", "ix",
];

const CJK: [&str; 8] = [
    "我家在上海东边",
    "东京塔很高",
    "北京的秋天",
    "今天天气很好",
    "请把报告发给我",
    "会议改到下午三点",
    "广州的早茶",
    "深圳湾公园",
];

impl Corpus {
    fn new() -> Self {
        let mut words = Vec::with_capacity(24 * 24 * 24);
        for a in SYLLABLES {
            for b in SYLLABLES {
                for c in SYLLABLES {
                    words.push(format!("{a}{b}{c}"));
                }
            }
        }
        Self {
            words,
            cjk: CJK.to_vec(),
        }
    }

    /// A word of rank drawn roughly like text (many rare, few common).
    fn word(&self, state: &mut u64) -> &str {
        let r = next(state);
        // Squaring a uniform draw skews it towards the front.
        let u = (r % 1_000_000) as f64 / 1_000_000.0;
        let rank = ((u * u) * self.words.len() as f64) as usize;
        &self.words[rank.min(self.words.len() - 1)]
    }

    fn message(&self, state: &mut u64) -> String {
        let n = 6 + (next(state) % 8) as usize;
        let mut text: Vec<&str> = (0..n).map(|_| self.word(state)).collect();
        if next(state).is_multiple_of(10) {
            text.push(self.cjk[(next(state) % self.cjk.len() as u64) as usize]);
        }
        text.join(" ")
    }
}

/// xorshift64: cheap, deterministic.
fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Posts one batch; the number stored. A 503 is retried with the same
/// body (its `client_id`s make that safe), as the API asks clients to,
/// and reported on stderr.
async fn post_batch(
    ctx: &Context,
    user: &User,
    chat: &str,
    items: &[Value],
) -> anyhow::Result<usize> {
    let body = json!({ "items": items });
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = ctx
            .http
            .post(ctx.url(&format!("/api/v1/chats/{chat}/messages/batch")))
            .bearer_auth(&user.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            let body: Value = serde_json::from_slice(&response.bytes().await?)?;
            return Ok(body["created"].as_u64().unwrap_or(0) as usize);
        }
        let text = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::SERVICE_UNAVAILABLE || attempt == 5 {
            bail!("batch: {status} {text}");
        }
        eprintln!("batch: {status} (attempt {attempt}), retrying");
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
}

/// Fills `chats` chats of `owner` with `per_chat` messages each, in
/// batches of `batch`, `clients` batches at a time; the time it took and
/// the batch latencies.
pub(crate) async fn fill(
    ctx: &Context,
    owner: &User,
    chats: &[String],
    per_chat: usize,
    batch: usize,
    clients: usize,
) -> anyhow::Result<(Duration, hdrhistogram::Histogram<u64>, u64)> {
    let corpus = Arc::new(Corpus::new());
    let jobs: Vec<(usize, usize)> = (0..chats.len())
        .flat_map(|c| (0..per_chat.div_ceil(batch)).map(move |b| (c, b)))
        .collect();
    let bar = ctx.progress(jobs.len() as u64, "import");
    let latencies = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    futures::stream::iter(jobs)
        .for_each_concurrent(clients, |(c, b)| {
            let (corpus, latencies, errors, bar) = (
                Arc::clone(&corpus),
                Arc::clone(&latencies),
                Arc::clone(&errors),
                bar.clone(),
            );
            let chat = &chats[c];
            async move {
                let mut state = 0x9E37_79B9_7F4A_7C15 ^ ((c as u64) << 32 | b as u64);
                let from = b * batch;
                let items: Vec<Value> = (from..(from + batch).min(per_chat))
                    .map(|i| {
                        json!({
                            "content": corpus.message(&mut state),
                            "role": if i % 2 == 0 { "user" } else { "assistant" },
                            "client_id": format!("import-{c}-{i}"),
                            "metadata": {"turn": i},
                        })
                    })
                    .collect();
                let t = Instant::now();
                match post_batch(ctx, owner, chat, &items).await {
                    Ok(_) => {
                        let _ = latencies
                            .lock()
                            .await
                            .record(t.elapsed().as_micros() as u64);
                    }
                    Err(error) => {
                        eprintln!("{error}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                bar.inc(1);
            }
        })
        .await;
    bar.finish_and_clear();
    let latencies = Arc::try_unwrap(latencies)
        .map_err(|_| anyhow::anyhow!("latencies still shared"))?
        .into_inner();
    Ok((started.elapsed(), latencies, errors.load(Ordering::Relaxed)))
}

pub(crate) async fn chats_of(ctx: &Context, owner: &User, n: usize) -> anyhow::Result<Vec<String>> {
    let mut chats = Vec::with_capacity(n);
    for _ in 0..n {
        chats.push(ctx.group(owner, &[]).await?);
    }
    Ok(chats)
}

/// `import`: `messages` messages into `chats` chats in batches of `batch`,
/// `clients` requests at a time: messages/s and batch latency.
pub async fn import(
    ctx: &Context,
    messages: usize,
    chats: usize,
    batch: usize,
    clients: usize,
) -> anyhow::Result<Report> {
    let owner = ctx.users(1).await?.remove(0);
    let chats = chats_of(ctx, &owner, chats.max(1)).await?;
    let per_chat = messages.div_ceil(chats.len());
    let cpu = ctx.watch.snapshot();
    let (elapsed, latencies, errors) = fill(
        ctx,
        &owner,
        &chats,
        per_chat,
        batch.clamp(1, 1000),
        clients.max(1),
    )
    .await?;
    let cpu_end = ctx.watch.snapshot();
    let stored = per_chat * chats.len();
    Ok(Report {
        scenario: "import",
        parameters: json!({"messages": stored, "chats": chats.len(), "batch": batch, "clients": clients}),
        throughput_per_sec: stored as f64 / elapsed.as_secs_f64(),
        unit: "messages",
        operations: latencies.len(),
        errors,
        latency: Some(Latency::from_micros(&latencies)),
        extra: json!({"seconds": elapsed.as_secs_f64()}),
        cpu: Some(cpu.until(&cpu_end, stored as u64)),
    })
}

/// `export`: one chat of `messages` messages exported `times` times: MB/s.
pub async fn export(ctx: &Context, messages: usize, times: usize) -> anyhow::Result<Report> {
    let owner = ctx.users(1).await?.remove(0);
    let chats = chats_of(ctx, &owner, 1).await?;
    fill(ctx, &owner, &chats, messages, 1000, 4).await?;
    let url = ctx.url(&format!("/api/v1/chats/{}/export", chats[0]));
    let mut latencies = histogram();
    let mut bytes = 0u64;
    let mut lines = 0u64;
    let cpu = ctx.watch.snapshot();
    let started = Instant::now();
    for _ in 0..times.max(1) {
        let t = Instant::now();
        let response = ctx.http.get(&url).bearer_auth(&owner.token).send().await?;
        if !response.status().is_success() {
            bail!("export: {}", response.status());
        }
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let _ = latencies.record(t.elapsed().as_micros() as u64);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_end = ctx.watch.snapshot();
    if lines != (messages * times.max(1)) as u64 {
        bail!("export: {lines} lines for {messages} messages × {times}");
    }
    Ok(Report {
        scenario: "export",
        parameters: json!({"messages": messages, "times": times}),
        throughput_per_sec: bytes as f64 / elapsed / 1_000_000.0,
        unit: "MB",
        operations: latencies.len(),
        errors: 0,
        latency: Some(Latency::from_micros(&latencies)),
        extra: json!({"messages_per_sec": lines as f64 / elapsed, "bytes_per_message": bytes / lines.max(1)}),
        cpu: Some(cpu.until(&cpu_end, latencies.len())),
    })
}

/// The corpus of the `search` scenario.
#[derive(Debug, Clone)]
pub struct SearchCorpus {
    /// Messages in the searching user's chats.
    pub messages: usize,
    /// Chats of the searching user (and, with `foreign`, of a stranger).
    pub chats: usize,
    /// Messages in a stranger's chats, which the searcher cannot see: the
    /// same words, so the server must tell the searcher's matches apart.
    pub foreign: usize,
    /// A shell command run once the corpus is stored, before searching
    /// (say, `psql … -c 'VACUUM (ANALYZE) messages'`, so the search meets
    /// an index that has caught up with a million fresh rows).
    pub after_fill: Option<String>,
}

/// `search`: one user with `corpus.messages` messages over `corpus.chats`
/// chats (stored by batch import), optionally a stranger with
/// `corpus.foreign` more, then `clients` clients search for D: word
/// prefixes of any frequency, two prefixes at once, Chinese substrings.
pub async fn search(
    ctx: &Context,
    corpus: SearchCorpus,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let mut users = ctx.users(2).await?;
    let (owner, stranger) = (users.remove(0), users.remove(0));
    let chat_ids = chats_of(ctx, &owner, corpus.chats.max(1)).await?;
    let per_chat = corpus.messages.div_ceil(chat_ids.len());
    let (mut filled, _, mut fill_errors) = fill(ctx, &owner, &chat_ids, per_chat, 1000, 4).await?;
    let mut foreign = 0;
    if corpus.foreign > 0 {
        let theirs = chats_of(ctx, &stranger, corpus.chats.max(1)).await?;
        let per_chat = corpus.foreign.div_ceil(theirs.len());
        let (took, _, errors) = fill(ctx, &stranger, &theirs, per_chat, 1000, 4).await?;
        filled += took;
        fill_errors += errors;
        foreign = per_chat * theirs.len();
    }
    if fill_errors > 0 {
        bail!("search: {fill_errors} batches failed while filling");
    }
    if let Some(command) = corpus.after_fill.clone() {
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .status()
        })
        .await??;
        if !status.success() {
            bail!("search: --after-fill failed: {status}");
        }
    }
    let corpus = Arc::new(Corpus::new());
    let latencies = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(AtomicU64::new(0));
    let found = Arc::new(AtomicU64::new(0));
    let bar = ctx.progress(duration.as_secs(), "search");
    let cpu = ctx.watch.snapshot();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..clients.max(1)).map(|c| {
        let (corpus, latencies, errors, found, token) = (
            Arc::clone(&corpus),
            Arc::clone(&latencies),
            Arc::clone(&errors),
            Arc::clone(&found),
            owner.token.clone(),
        );
        async move {
            let mut local = histogram();
            let mut state = 0xD1B5_4A32_D192_ED03 ^ c as u64;
            while Instant::now() < deadline {
                let q = match next(&mut state) % 4 {
                    // A Chinese substring (two or three characters).
                    0 => {
                        let phrase: Vec<char> = corpus.cjk
                            [(next(&mut state) % corpus.cjk.len() as u64) as usize]
                            .chars()
                            .collect();
                        let len = 2 + (next(&mut state) % 2) as usize;
                        let at = (next(&mut state) as usize) % (phrase.len() - len + 1);
                        phrase[at..at + len].iter().collect::<String>()
                    }
                    // Two word prefixes.
                    1 => format!(
                        "{} {}",
                        &corpus.word(&mut state)[..4],
                        &corpus.word(&mut state)[..3]
                    ),
                    // A prefix of a word of any frequency.
                    _ => corpus.word(&mut state)[..4].to_owned(),
                };
                let Ok(mut url) = reqwest::Url::parse(&ctx.url("/api/v1/messages")) else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                };
                url.query_pairs_mut()
                    .append_pair("q", &q)
                    .append_pair("limit", "20");
                let t = Instant::now();
                let response = ctx.http.get(url).bearer_auth(&token).send().await;
                let ok = match response {
                    Ok(response) if response.status().is_success() => {
                        match response.bytes().await {
                            Ok(body) => {
                                let hits = serde_json::from_slice::<Value>(&body)
                                    .ok()
                                    .and_then(|v| v["items"].as_array().map(Vec::len))
                                    .unwrap_or(0);
                                found.fetch_add(hits as u64, Ordering::Relaxed);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    _ => false,
                };
                if ok {
                    let _ = local.record(t.elapsed().as_micros() as u64);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = latencies.lock().await.add(&local);
        }
    });
    let ticker = async {
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            bar.inc(1);
        }
        bar.finish_and_clear();
    };
    futures::future::join(futures::future::join_all(tasks), ticker).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_end = ctx.watch.snapshot();
    let latencies = latencies.lock().await;
    let queries = latencies.len();
    Ok(Report {
        scenario: "search",
        parameters: json!({"messages": per_chat * chat_ids.len(), "chats": chat_ids.len(), "foreign_messages": foreign, "clients": clients, "seconds": duration.as_secs()}),
        throughput_per_sec: queries as f64 / elapsed,
        unit: "queries",
        operations: queries,
        errors: errors.load(Ordering::Relaxed),
        latency: Some(Latency::from_micros(&latencies)),
        extra: json!({
            "fill_seconds": filled.as_secs_f64(),
            "fill_messages_per_sec": (per_chat * chat_ids.len() + foreign) as f64 / filled.as_secs_f64(),
            "results_per_query": found.load(Ordering::Relaxed) as f64 / queries.max(1) as f64,
        }),
        cpu: Some(cpu.until(&cpu_end, queries)),
    })
}
