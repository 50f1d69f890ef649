//! The proof of lossless sync (SPEC §4.8, issue 14), model-based.
//!
//! A seeded generator drives a storm of mixed operations — sends (some
//! replies), edits, deletions, reactions, pins, reads, joins, leaves,
//! renames, chat creations and deletions — by four users, on two server
//! instances sharing one PostgreSQL (one of them losing half its
//! real-time signals), or on one SQLite instance. Meanwhile each user's
//! client rebuilds its state **from events alone**: it connects over
//! WebSocket to a random instance with `?since=` its last token, reads a
//! random number of events, drops the connection (between events,
//! mid-replay), or syncs over `GET /sync` with random page sizes and
//! stops between pages; one instance is restarted in the middle. The only
//! REST read a client makes is the one the README's algorithm makes: when
//! it is added to a chat it does not know, it loads that chat.
//!
//! At the end every client catches up (until it sees a fence chat created
//! after everything else) and its state must equal what REST reports for
//! its user: the chats, titles, members, read positions, and every
//! message's content, tombstone, pin, reply count and reactions (counts
//! and the user's own). Seeds: `MISSIVE_SYNC_PROOF_SEEDS` (default
//! `1,2,3`), steps per seed: `MISSIVE_SYNC_PROOF_STEPS` (default 150);
//! `make soak` runs many more.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient};

/// A small, seeded generator (xorshift64*): the same seed, the same storm.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MessageState {
    seq: i64,
    content: String,
    deleted: bool,
    pinned: bool,
    replies: u64,
    /// reaction → (count, mine)
    reactions: BTreeMap<String, (u64, bool)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ChatState {
    title: Option<String>,
    members: BTreeSet<String>,
    /// Read positions of current members (0 when never moved).
    reads: BTreeMap<String, i64>,
    messages: BTreeMap<String, MessageState>,
}

type World = BTreeMap<String, ChatState>;

/// The servers: one or two instances on one database.
struct Servers {
    instances: Vec<TestApp>,
    database_url: String,
    _keep: Option<tempfile::TempDir>,
}

impl Servers {
    fn any(&self, rng: &mut Rng) -> &TestApp {
        &self.instances[rng.below(self.instances.len())]
    }

    /// Stops the last instance and starts a fresh one on the same
    /// database (its WebSockets close with 1001; clients come back).
    async fn restart_one(&mut self) {
        drop(self.instances.pop());
        let app = TestApp::spawn_on(
            tempfile::tempdir().expect("dir"),
            self.database_url.clone(),
            |_| {},
        )
        .await;
        self.instances.push(app);
    }
}

/// A user's client: its state, rebuilt from events, and its position.
struct Client {
    user: TestUser,
    world: World,
    token: String,
    socket: Option<WsClient>,
}

fn message_state(view: &Value, previous: Option<&MessageState>) -> MessageState {
    let deleted = view["deleted"] == true;
    let reactions = if deleted {
        BTreeMap::new()
    } else if let Some(previous) = previous {
        // Reaction events carry reactions; a message event only does for
        // a message not seen before.
        previous.reactions.clone()
    } else {
        reactions_of(view)
    };
    MessageState {
        seq: view["seq"].as_i64().expect("seq"),
        content: view["content"].as_str().expect("content").to_owned(),
        deleted,
        pinned: !view["pinned"].is_null(),
        replies: view["thread"]["reply_count"].as_u64().unwrap_or(0),
        reactions,
    }
}

fn reactions_of(view: &Value) -> BTreeMap<String, (u64, bool)> {
    view["reactions"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    (
                        r["reaction"].as_str().expect("reaction").to_owned(),
                        (r["count"].as_u64().expect("count"), r["me"] == true),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn id(value: &Value) -> String {
    value.as_str().expect("id").to_owned()
}

/// Every page of a listing that pages with `next_cursor`.
async fn all_items(app: &TestApp, path: &str, token: &str) -> Option<Vec<Value>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{separator}limit=100&cursor={c}"),
            None => format!("{path}{separator}limit=100"),
        };
        let response = app.get(&url, token).await;
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200, "{url}");
        let page: Value = response.json().await.expect("json");
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Some(items),
        }
    }
}

/// A chat as REST shows it to `user` (`None`: not theirs).
async fn load_chat(app: &TestApp, user: &TestUser, chat: &str) -> Option<ChatState> {
    let response = app.get(&format!("/api/v1/chats/{chat}"), &user.token).await;
    if response.status() == 404 {
        return None;
    }
    let view: Value = response.json().await.expect("json");
    let members = all_items(app, &format!("/api/v1/chats/{chat}/members"), &user.token).await?;
    let mut messages = BTreeMap::new();
    let mut after = 0;
    loop {
        let response = app
            .get(
                &format!("/api/v1/chats/{chat}/messages?after_seq={after}&limit=200"),
                &user.token,
            )
            .await;
        if response.status() == 404 {
            return None;
        }
        let page: Value = response.json().await.expect("json");
        for item in page["items"].as_array().expect("items") {
            after = item["seq"].as_i64().expect("seq");
            messages.insert(id(&item["id"]), message_state(item, None));
        }
        if page["has_more"] != true {
            break;
        }
    }
    Some(ChatState {
        title: view["title"].as_str().map(str::to_owned),
        members: members.iter().map(|m| id(&m["user_id"])).collect(),
        reads: members
            .iter()
            .map(|m| {
                (
                    id(&m["user_id"]),
                    m["last_read_seq"].as_i64().expect("read"),
                )
            })
            .collect(),
        messages,
    })
}

impl Client {
    /// Applies one event; `app` is where a chat joined is loaded from.
    async fn apply(&mut self, app: &TestApp, event: &Value) {
        let me = self.user.id.clone();
        let kind = event["type"].as_str().expect("type");
        if std::env::var_os("MISSIVE_SYNC_PROOF_TRACE").is_some() {
            eprintln!("{me} <- {event}");
        }
        match kind {
            "message.created" | "message.updated" | "message.deleted" | "message.pinned"
            | "message.unpinned" => {
                let view = &event["message"];
                if let Some(chat) = self.world.get_mut(&id(&view["chat_id"])) {
                    let key = id(&view["id"]);
                    let state = message_state(view, chat.messages.get(&key));
                    chat.messages.insert(key, state);
                }
            }
            "reaction.added" | "reaction.removed" => {
                let message = self
                    .world
                    .get_mut(&id(&event["chat_id"]))
                    .and_then(|c| c.messages.get_mut(&id(&event["message_id"])));
                if let Some(message) = message {
                    let reaction = event["reaction"].as_str().expect("reaction").to_owned();
                    let count = event["count"].as_u64().expect("count");
                    let mine_before = message.reactions.get(&reaction).is_some_and(|r| r.1);
                    let mine = if event["user_id"] == me.as_str() {
                        kind == "reaction.added"
                    } else {
                        mine_before
                    };
                    if count == 0 {
                        message.reactions.remove(&reaction);
                    } else {
                        message.reactions.insert(reaction, (count, mine));
                    }
                }
            }
            "thread.updated" => {
                let root = self
                    .world
                    .get_mut(&id(&event["chat_id"]))
                    .and_then(|c| c.messages.get_mut(&id(&event["root_id"])));
                if let Some(root) = root {
                    root.replies = event["thread"]["reply_count"].as_u64().unwrap_or(0);
                }
            }
            "chat.read" => {
                if let Some(chat) = self.world.get_mut(&id(&event["chat_id"])) {
                    let seq = event["last_read_seq"].as_i64().expect("seq");
                    let read = chat.reads.entry(id(&event["user_id"])).or_default();
                    *read = (*read).max(seq);
                }
            }
            "member.added" => {
                let (chat, user) = (id(&event["chat_id"]), id(&event["user_id"]));
                if let Some(state) = self.world.get_mut(&chat) {
                    state.members.insert(user.clone());
                    state.reads.entry(user).or_default();
                } else if user == me {
                    // Joined a chat not known: load it, as the README says.
                    if let Some(state) = load_chat(app, &self.user, &chat).await {
                        self.world.insert(chat, state);
                    }
                }
            }
            "member.removed" => {
                let (chat, user) = (id(&event["chat_id"]), id(&event["user_id"]));
                if user == me {
                    self.world.remove(&chat);
                } else if let Some(state) = self.world.get_mut(&chat) {
                    state.members.remove(&user);
                    state.reads.remove(&user);
                }
            }
            "chat.created" | "chat.updated" => {
                let view = &event["chat"];
                let chat = id(&view["id"]);
                let state = match self.world.remove(&chat) {
                    Some(state) => Some(state),
                    None if kind == "chat.created" => Some(ChatState::default()),
                    // Changed, but never seen: load it.
                    None => load_chat(app, &self.user, &chat).await,
                };
                if let Some(mut state) = state {
                    state.title = view["title"].as_str().map(str::to_owned);
                    state.members.clear();
                    for member in view["members"].as_array().expect("members") {
                        let user = id(&member["user_id"]);
                        let read = member["last_read_seq"].as_i64().expect("read");
                        state.members.insert(user.clone());
                        let known = state.reads.entry(user).or_default();
                        *known = (*known).max(read);
                    }
                    let members = state.members.clone();
                    state.reads.retain(|user, _| members.contains(user));
                    self.world.insert(chat, state);
                }
            }
            "chat.deleted" => {
                self.world.remove(&id(&event["chat_id"]));
            }
            _ => {}
        }
        if let Some(token) = event["token"].as_str() {
            self.token = token.to_owned();
        }
    }

    /// Reads up to `frames` events from the socket, if connected.
    async fn pump(&mut self, app: &TestApp, frames: usize) {
        for _ in 0..frames {
            let Some(socket) = self.socket.as_mut() else {
                return;
            };
            match socket.next_within(30).await {
                Ok(Some(event)) => self.apply(app, &event).await,
                Ok(None) => return,
                Err(()) => {
                    self.socket = None;
                    return;
                }
            }
        }
    }

    async fn connect(&mut self, app: &TestApp) {
        if std::env::var_os("MISSIVE_SYNC_PROOF_TRACE").is_some() {
            eprintln!(
                "{} connects to {} since {}",
                self.user.id, app.addr, self.token
            );
        }
        let authorization = format!("Bearer {}", self.user.token);
        let socket = app
            .ws_attempt(
                &format!("?since={}", self.token),
                &[("authorization", &authorization)],
            )
            .await
            .expect("the token never expires in this test");
        self.socket = Some(socket);
    }

    /// Up to `pages` pages of `GET /sync`, `limit` changes each.
    async fn sync_rest(&mut self, app: &TestApp, limit: usize, pages: usize) -> bool {
        if std::env::var_os("MISSIVE_SYNC_PROOF_TRACE").is_some() {
            eprintln!("{} syncs since {}", self.user.id, self.token);
        }
        for _ in 0..pages {
            let page = app
                .get_json(
                    &format!("/api/v1/sync?since={}&limit={limit}", self.token),
                    &self.user.token,
                )
                .await;
            for change in page["changes"].as_array().expect("changes") {
                self.apply(app, change).await;
            }
            self.token = id(&page["next_token"]);
            if page["has_more"] == false {
                return true;
            }
        }
        false
    }
}

/// What REST reports to `user`, except the fence.
async fn rest_world(app: &TestApp, user: &TestUser, fence: &str) -> World {
    let mut world = World::new();
    for chat in all_items(app, "/api/v1/chats", &user.token)
        .await
        .expect("chats")
    {
        let chat = id(&chat["id"]);
        if chat == fence {
            continue;
        }
        if let Some(state) = load_chat(app, user, &chat).await {
            world.insert(chat, state);
        }
    }
    world
}

/// What differs between a rebuilt world and the truth, readably.
fn differences(rebuilt: &World, truth: &World) -> String {
    let mut out = Vec::new();
    let chats: BTreeSet<&String> = rebuilt.keys().chain(truth.keys()).collect();
    for chat in chats {
        match (rebuilt.get(chat), truth.get(chat)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                if a.title != b.title || a.members != b.members || a.reads != b.reads {
                    out.push(format!(
                        "chat {chat}: rebuilt {:?} {:?} {:?}, truth {:?} {:?} {:?}",
                        a.title, a.members, a.reads, b.title, b.members, b.reads
                    ));
                }
                let ids: BTreeSet<&String> = a.messages.keys().chain(b.messages.keys()).collect();
                for id in ids {
                    let (x, y) = (a.messages.get(id), b.messages.get(id));
                    if x != y {
                        out.push(format!("  message {id}: rebuilt {x:?}, truth {y:?}"));
                    }
                }
            }
            (a, b) => out.push(format!(
                "chat {chat}: rebuilt {}, truth {}",
                a.is_some(),
                b.is_some()
            )),
        }
    }
    out.join("\n")
}

const REACTIONS: [&str; 3] = ["%F0%9F%91%8D", "%E2%9D%A4", ":tada:"];

/// One storm, then the check.
async fn storm(mut servers: Servers, seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let app = &servers.instances[0];
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(app.register(&format!("u{n}-{seed}@example.org")).await);
    }
    let mut clients = Vec::new();
    for user in &users {
        let now = app.get_json("/api/v1/sync", &user.token).await;
        clients.push(Client {
            user: user.clone(),
            world: World::new(),
            token: id(&now["next_token"]),
            socket: None,
        });
    }
    // What the driver created (not whether it still exists).
    let mut chats: Vec<(String, usize)> = Vec::new();
    let mut messages: Vec<(String, String, usize)> = Vec::new();
    let restart_at = steps / 2;
    for step in 0..steps {
        if step == restart_at {
            servers.restart_one().await;
        }
        let app = servers.any(&mut rng);
        if std::env::var_os("MISSIVE_SYNC_PROOF_TRACE").is_some() {
            eprintln!("step {step} on {}", app.addr);
        }
        let actor = rng.below(users.len());
        let user = &users[actor];
        let pick = rng.below(100);
        let chat = (!chats.is_empty()).then(|| chats[rng.below(chats.len())].clone());
        let message = (!messages.is_empty()).then(|| messages[rng.below(messages.len())].clone());
        match (pick, chat, message) {
            (0..=7, _, _) | (_, None, _) => {
                let others: Vec<&str> = users
                    .iter()
                    .filter(|u| u.id != user.id && rng.chance(50))
                    .map(|u| u.id.as_str())
                    .collect();
                let response = app
                    .post_json(
                        "/api/v1/chats",
                        Some(&user.token),
                        &json!({"kind": "group", "title": format!("g{step}"), "member_ids": others}),
                    )
                    .await;
                if response.status() == 201 {
                    let body: Value = response.json().await.expect("json");
                    chats.push((id(&body["id"]), actor));
                }
            }
            (8..=37, Some((chat, _)), reply) => {
                let mut body = json!({"content": format!("m{step}")});
                if let Some((root, root_chat, _)) = reply
                    && root_chat == chat
                    && rng.chance(30)
                {
                    body["reply_to"] = json!(root);
                }
                let response = app
                    .post_json(
                        &format!("/api/v1/chats/{chat}/messages"),
                        Some(&user.token),
                        &body,
                    )
                    .await;
                if response.status() == 201 {
                    let stored: Value = response.json().await.expect("json");
                    messages.push((id(&stored["id"]), chat, actor));
                }
            }
            (38..=47, _, Some((message, _, sender))) => {
                let _ = app
                    .send_json(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/messages/{message}"),
                        &users[sender].token,
                        &json!({"content": format!("edit {step}")}),
                    )
                    .await;
            }
            (48..=52, _, Some((message, _, sender))) => {
                let _ = app
                    .delete(&format!("/api/v1/messages/{message}"), &users[sender].token)
                    .await;
            }
            (53..=70, _, Some((message, _, _))) => {
                let reaction = REACTIONS[rng.below(REACTIONS.len())];
                let path = format!("/api/v1/messages/{message}/reactions/{reaction}");
                if rng.chance(65) {
                    let _ = app
                        .send_json(reqwest::Method::PUT, &path, &user.token, &json!({}))
                        .await;
                } else {
                    let _ = app.delete(&path, &user.token).await;
                }
            }
            (71..=76, Some((_, owner)), Some((message, chat, _))) => {
                let path = format!("/api/v1/chats/{chat}/pins/{message}");
                if rng.chance(60) {
                    let _ = app
                        .send_json(reqwest::Method::PUT, &path, &users[owner].token, &json!({}))
                        .await;
                } else {
                    let _ = app.delete(&path, &users[owner].token).await;
                }
            }
            (77..=84, Some((chat, _)), _) => {
                let _ = app
                    .post_json(
                        &format!("/api/v1/chats/{chat}/read"),
                        Some(&user.token),
                        &json!({"seq": rng.below(12)}),
                    )
                    .await;
            }
            (85..=90, Some((chat, owner)), _) => {
                let target = &users[rng.below(users.len())];
                let _ = app
                    .post_json(
                        &format!("/api/v1/chats/{chat}/members"),
                        Some(&users[owner].token),
                        &json!({"user_id": target.id}),
                    )
                    .await;
            }
            (91..=95, Some((chat, owner)), _) => {
                let target = &users[rng.below(users.len())];
                // The owner removes someone, or someone leaves.
                let by = if rng.chance(50) {
                    &users[owner]
                } else {
                    target
                };
                let _ = app
                    .delete(
                        &format!("/api/v1/chats/{chat}/members/{}", target.id),
                        &by.token,
                    )
                    .await;
            }
            (96..=97, Some((chat, owner)), _) => {
                let _ = app
                    .send_json(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/chats/{chat}"),
                        &users[owner].token,
                        &json!({"title": format!("renamed {step}")}),
                    )
                    .await;
            }
            (98..=99, Some((chat, owner)), _) => {
                let _ = app
                    .delete(&format!("/api/v1/chats/{chat}"), &users[owner].token)
                    .await;
            }
            _ => {}
        }
        // The clients, each doing something random (or nothing).
        for client in &mut clients {
            let app = servers.any(&mut rng);
            match rng.below(10) {
                0 if client.socket.is_none() => {
                    client.connect(app).await;
                    // Maybe dropped mid-replay.
                    if rng.chance(30) {
                        let frames = rng.below(4);
                        client.pump(app, frames).await;
                        client.socket = None;
                    }
                }
                1 | 2 => {
                    let frames = rng.below(12);
                    client.pump(app, frames).await;
                }
                3 => client.socket = None,
                4 if client.socket.is_none() => {
                    let (limit, pages) = (1 + rng.below(20), 1 + rng.below(3));
                    client.sync_rest(app, limit, pages).await;
                }
                _ => {}
            }
        }
    }

    // A fence every client sees after everything above.
    let app = &servers.instances[0];
    let member_ids: Vec<&str> = users.iter().skip(1).map(|u| u.id.as_str()).collect();
    let fence = app
        .post_json(
            "/api/v1/chats",
            Some(&users[0].token),
            &json!({"kind": "group", "title": "fence", "member_ids": member_ids}),
        )
        .await;
    assert_eq!(fence.status(), 201);
    let fence = id(&fence.json::<Value>().await.expect("json")["id"]);
    for client in &mut clients {
        // Half finish on the socket, half over REST.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(
                std::time::Instant::now() < deadline,
                "seed {seed}: the fence never arrived"
            );
            if client.socket.is_some() {
                client.pump(app, 50).await;
            } else if !client.sync_rest(app, 100, 10).await {
                continue;
            }
            if client.world.contains_key(&fence) {
                if client.socket.is_some() {
                    client.pump(app, 50).await;
                }
                client.socket = None;
                client.sync_rest(app, 100, 1000).await;
                break;
            }
            if client.socket.is_none() && rounds % 5 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        client.world.remove(&fence);
        let truth = rest_world(app, &client.user, &fence).await;
        assert!(
            client.world == truth,
            "seed {seed}: the state {} rebuilt from events differs from REST:\n{}",
            client.user.id,
            differences(&client.world, &truth)
        );
    }
}

/// Every other signal this instance receives is lost.
fn losing_every_other_signal() -> missive_api::realtime::faults::Faults {
    use std::sync::atomic::{AtomicU64, Ordering};

    use missive_api::realtime::faults::{Fate, Faults};
    let seen = AtomicU64::new(0);
    Faults::on_signals(move |_| {
        if seen.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    })
}

fn seeds() -> (Vec<u64>, usize) {
    let seeds = std::env::var("MISSIVE_SYNC_PROOF_SEEDS")
        .ok()
        .map(|s| {
            s.split(',')
                .flat_map(|part| match part.split_once("..") {
                    Some((a, b)) => {
                        let (a, b): (u64, u64) =
                            (a.parse().expect("seed"), b.parse().expect("seed"));
                        (a..b).collect::<Vec<_>>()
                    }
                    None => vec![part.parse().expect("seed")],
                })
                .collect()
        })
        .unwrap_or_else(|| vec![1, 2, 3]);
    let steps = std::env::var("MISSIVE_SYNC_PROOF_STEPS")
        .ok()
        .map_or(150, |s| s.parse().expect("steps"));
    (seeds, steps)
}

#[tokio::test]
async fn clients_that_disconnect_anywhere_rebuild_exactly_what_rest_reports() {
    let (seeds, steps) = seeds();
    for seed in seeds {
        let servers = match missive_infra::scratch::postgres_test_url() {
            // Two instances on one PostgreSQL; the second loses half its
            // signals (the log makes up for them).
            Some(_) => {
                let first = TestApp::spawn().await;
                let url = first.database_url.clone();
                let second = TestApp::spawn_faulty(
                    tempfile::tempdir().expect("dir"),
                    url.clone(),
                    |_| {},
                    losing_every_other_signal(),
                )
                .await;
                Servers {
                    instances: vec![first, second],
                    database_url: url,
                    _keep: None,
                }
            }
            None => {
                let keep = tempfile::tempdir().expect("dir");
                let url = crate::helpers::fresh_database_url(keep.path()).await;
                let only =
                    TestApp::spawn_on(tempfile::tempdir().expect("dir"), url.clone(), |_| {}).await;
                Servers {
                    instances: vec![only],
                    database_url: url,
                    _keep: Some(keep),
                }
            }
        };
        storm(servers, seed, steps).await;
    }
}
