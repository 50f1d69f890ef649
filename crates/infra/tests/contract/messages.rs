//! The search rules of the shared contract
//! (`missive_domain::testkit::search`, run as they are by `suite.rs`)
//! once more per search plan: PostgreSQL picks a plan per query, and every
//! plan must give the same answers. Each run gets fresh adapters whose
//! message repository is tuned to one plan.

use futures_util::future::BoxFuture;
use missive_domain::testkit::{Adapters, search};
use missive_infra::scratch::postgres_test_url;
use missive_infra::{SearchPlan, SearchTuning};

use crate::suite::sea_adapters;

/// A rule of the shared contract, as `missive_domain::testkit::Rule` holds it.
type Check = for<'a> fn(&'a Adapters) -> BoxFuture<'a, ()>;

/// Each search plan (PostgreSQL picks one per query; every plan must give
/// the same answers), and the planner left to choose: with the defaults,
/// and with a recent window of 2 rows, a rare cap of 2 matches and no
/// small scopes, so that a full recent page, the fallback to the rare plan
/// and the fallback from it are all taken.
fn each_plan() -> Vec<SearchTuning> {
    let tiny = SearchTuning {
        recent_rows: 2,
        rare_matches: 2,
        small_scope: 0,
        ..SearchTuning::default()
    };
    vec![
        SearchTuning::default(),
        tiny,
        SearchTuning {
            plan: Some(SearchPlan::Recent),
            ..tiny
        },
        SearchTuning {
            plan: Some(SearchPlan::Rare),
            small_scope: 0,
            ..SearchTuning::default()
        },
        SearchTuning {
            plan: Some(SearchPlan::Newest),
            ..tiny
        },
        SearchTuning {
            plan: Some(SearchPlan::PerChat),
            ..tiny
        },
    ]
}

/// Checks `rule` under every plan on SQLite, then on PostgreSQL when one
/// is configured, each time on fresh adapters.
async fn under_every_plan(rule: Check) {
    let postgres = postgres_test_url();
    if postgres.is_none() {
        eprintln!("PostgreSQL contract run skipped: MISSIVE_TEST_DATABASE_URL is not set");
    }
    for backend in std::iter::once(None).chain(postgres.as_deref().map(Some)) {
        for tuning in each_plan() {
            let adapters = sea_adapters(backend, tuning).await;
            rule(&adapters).await;
        }
    }
}

#[tokio::test]
async fn search_terms_cannot_escape_into_the_sql() {
    under_every_plan(|a| Box::pin(search::search_terms_are_data_never_syntax(a))).await;
}

#[tokio::test]
async fn search_matches_every_term_case_insensitively_in_the_viewers_chats_only() {
    under_every_plan(|a| {
        Box::pin(search::search_matches_every_term_case_insensitively_in_the_viewers_chats_only(a))
    })
    .await;
}

#[tokio::test]
async fn cjk_runs_are_found_by_any_part_and_only_where_it_occurs() {
    under_every_plan(|a| {
        Box::pin(search::cjk_runs_are_found_by_any_part_and_only_where_it_occurs(a))
    })
    .await;
}

#[tokio::test]
async fn search_pages_through_every_match_under_every_plan() {
    under_every_plan(|a| Box::pin(search::search_pages_through_every_match(a))).await;
}
