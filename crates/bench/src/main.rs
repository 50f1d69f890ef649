//! `missive-bench`: drives a running Missive server over loopback and
//! reports throughput and latency percentiles (table, or `--json`).
//!
//! The server must run with rate limits off
//! (`MISSIVE__RATE_LIMIT__ENABLED=false`); `make bench` does that.

mod bulk;
mod client;
mod cpu;
mod report;
mod scenarios;
mod sync;

use std::time::Duration;

use clap::{Parser, Subcommand};

/// The same allocator as the server: the load generator shares the cores
/// with it, so its own allocation cost is part of every measurement.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load scenarios against a running server.
#[derive(Debug, Parser)]
#[command(name = "missive-bench", version, about)]
struct Cli {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8000", global = true)]
    url: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    /// The server's process id: report its CPU time per operation.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// PostgreSQL's postmaster process id: report the CPU time of it and
    /// its backends per operation.
    #[arg(long, global = true)]
    postgres_pid: Option<u32>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// C clients POST messages for D seconds.
    Send {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Chats the clients write to (client i writes to chat i mod
        /// chats); 1 makes every send queue on one chat's lock.
        #[arg(long, default_value_t = 32)]
        chats: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Clients GET pages of 50 from chats holding many messages: by
    /// default before a seq spread over the chat (`before_seq`), with
    /// `--newest` the newest page (no cursor).
    History {
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Messages per chat (stored first).
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Chats the messages are stored in and the readers spread over
        /// (client c reads chat c, c + clients, … mod chats in turn).
        #[arg(long, default_value_t = 4)]
        chats: usize,
        /// Read each chat's newest page (no `before_seq`), the page a
        /// client opening a chat asks for.
        #[arg(long)]
        newest: bool,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Before reading, react to every other message (👍 by both
        /// members, :tada: by one), so pages carry reactions.
        #[arg(long)]
        reactions: bool,
    },
    /// One group of M members, each with a WebSocket; S senders at a target
    /// rate. Checks every member got every message once, in order.
    Fanout {
        /// Group members (each holds a WebSocket).
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Concurrent senders.
        #[arg(long, default_value_t = 4)]
        senders: usize,
        /// Messages per second, all senders together.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        /// Seconds to send.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Imports messages in batches (POST /chats/{chat_id}/messages/batch).
    Import {
        /// Messages to store.
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        /// Chats they are spread over.
        #[arg(long, default_value_t = 10)]
        chats: usize,
        /// Messages per batch (1–1000).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Batches in flight.
        #[arg(long, default_value_t = 4)]
        clients: usize,
    },
    /// Exports one chat of many messages as NDJSON, several times.
    Export {
        /// Messages in the chat.
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        /// Exports to run.
        #[arg(long, default_value_t = 5)]
        times: usize,
    },
    /// Fills chats by batch import, then searches them (word prefixes,
    /// Chinese substrings) for D seconds.
    Search {
        /// Messages in the searching user's chats.
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Chats of the searching user they are spread over.
        #[arg(long, default_value_t = 100)]
        chats: usize,
        /// Messages in as many chats of another user, which the searcher
        /// is not in (stored after the searcher's).
        #[arg(long, default_value_t = 0)]
        foreign: usize,
        /// A shell command to run after storing the corpus, before
        /// searching.
        #[arg(long)]
        after_fill: Option<String>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Seconds to search.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Stores N changes after taking a sync token, then replays them from
    /// the token (`GET /sync` pages, or a WebSocket with `?since=`).
    Sync {
        /// Changes to replay (messages stored by batch import).
        #[arg(long, default_value_t = 100_000)]
        changes: usize,
        /// Chats they are spread over.
        #[arg(long, default_value_t = 10)]
        chats: usize,
        /// Changes per `GET /sync` page (1–1000).
        #[arg(long, default_value_t = 1000)]
        page: usize,
        /// Replay over a WebSocket opened with `?since=` instead.
        #[arg(long)]
        websocket: bool,
    },
    /// Holds N idle WebSockets and reads the server's memory per connection.
    Connections {
        /// Connections to open.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// The server's process id (to read `/proc/<pid>/status`);
        /// defaults to `--server-pid`.
        #[arg(long)]
        pid: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let watch = cpu::Watch {
        server: cli.server_pid,
        postgres: cli.postgres_pid,
    };
    let ctx = client::Context::new(&cli.url, cli.quiet, watch)?;
    let report = match cli.scenario {
        Scenario::Send {
            clients,
            chats,
            seconds,
        } => scenarios::send(&ctx, clients, chats, Duration::from_secs(seconds)).await?,
        Scenario::History {
            clients,
            messages,
            chats,
            newest,
            seconds,
            reactions,
        } => {
            let reads = scenarios::HistoryReads {
                clients,
                messages,
                chats,
                newest,
                reactions,
            };
            scenarios::history(&ctx, reads, Duration::from_secs(seconds)).await?
        }
        Scenario::Fanout {
            members,
            senders,
            rate,
            seconds,
        } => scenarios::fanout(&ctx, members, senders, rate, Duration::from_secs(seconds)).await?,
        Scenario::Import {
            messages,
            chats,
            batch,
            clients,
        } => bulk::import(&ctx, messages, chats, batch, clients).await?,
        Scenario::Export { messages, times } => bulk::export(&ctx, messages, times).await?,
        Scenario::Search {
            messages,
            chats,
            foreign,
            after_fill,
            clients,
            seconds,
        } => {
            let corpus = bulk::SearchCorpus {
                messages,
                chats,
                foreign,
                after_fill,
            };
            bulk::search(&ctx, corpus, clients, Duration::from_secs(seconds)).await?
        }
        Scenario::Sync {
            changes,
            chats,
            page,
            websocket,
        } => sync::replay(&ctx, changes, chats, page.clamp(1, 1000), websocket).await?,
        Scenario::Connections { count, pid } => {
            let pid = pid
                .or(cli.server_pid)
                .ok_or_else(|| anyhow::anyhow!("connections needs --pid or --server-pid"))?;
            scenarios::connections(&ctx, count, pid).await?
        }
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
