//! Removal is final, whatever happens to the signals.

use super::*;

#[tokio::test]
async fn a_removed_member_gets_no_later_message_when_the_removal_signal_is_lost() {
    let app = spawn_faulty(losing_membership_signals(Fate::Drop)).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let before = app.send(&ada, &group, "before").await;
    assert_eq!(bob_ws.next_of("message.created").await["message"], before);
    assert_eq!(ada_ws.next_of("message.created").await["message"], before);

    assert_eq!(remove(&app, &ada, &group, &bob).await, 204);
    let after = app.send(&ada, &group, "after bob").await;

    assert_eq!(
        ada_ws.next_of("message.created").await["message"],
        after,
        "the signal was handled"
    );
    assert_eq!(
        bob_ws.next_event().await,
        json!({"type": "member.removed", "chat_id": group, "user_id": bob.id}),
        "the change log has the removal, whatever happened to its signal"
    );
    bob_ws.assert_silent(500).await;
}

#[tokio::test]
async fn a_removed_member_gets_no_later_message_when_the_removal_signal_is_overtaken() {
    let delayed = losing_membership_signals(Fate::Delay(Duration::from_millis(1500)));
    let app = spawn_faulty(delayed).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let before = app.send(&ada, &group, "before").await;
    assert_eq!(bob_ws.next_of("message.created").await["message"], before);
    assert_eq!(ada_ws.next_of("message.created").await["message"], before);

    assert_eq!(remove(&app, &ada, &group, &bob).await, 204);
    let removed = Instant::now();
    let after = app.send(&ada, &group, "after bob").await;

    assert_eq!(ada_ws.next_of("message.created").await["message"], after);
    assert_eq!(
        bob_ws.next_event().await,
        json!({"type": "member.removed", "chat_id": group, "user_id": bob.id}),
        "bob's next event is his removal, read from the log in commit order"
    );
    assert!(
        removed.elapsed() < Duration::from_millis(1500),
        "the removal did not wait for its own late signal: {:?}",
        removed.elapsed()
    );
    bob_ws.assert_silent(300).await;
}

#[tokio::test]
async fn on_two_instances_a_removed_member_gets_no_later_message_when_their_instance_loses_the_removal_signal()
 {
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("two-instance removal test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_faulty(
        tempfile::tempdir().expect("dir"),
        a.database_url.clone(),
        |_| {},
        losing_membership_signals(Fate::Drop),
    )
    .await;
    let ada = a.register("ada@example.org").await;
    let bob = a.register("bob@example.org").await;
    let cy = a.register("cy@example.org").await;
    let group = a.group(&ada, &[&bob, &cy]).await;
    let mut bob_on_b = b.ws(&bob).await;
    // A witness on the same instance: when it has the message, bob would have.
    let mut cy_on_b = b.ws(&cy).await;
    let before = a.send(&ada, &group, "before").await;
    assert_eq!(bob_on_b.next_of("message.created").await["message"], before);
    assert_eq!(cy_on_b.next_of("message.created").await["message"], before);

    assert_eq!(remove(&a, &ada, &group, &bob).await, 204);
    let after = a.send(&ada, &group, "after bob").await;

    assert_eq!(cy_on_b.next_of("message.created").await["message"], after);
    assert_eq!(
        bob_on_b.next_event().await,
        json!({"type": "member.removed", "chat_id": group, "user_id": bob.id}),
        "instance b read the removal from the log"
    );
    bob_on_b.assert_silent(500).await;
}
