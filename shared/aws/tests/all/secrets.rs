//! The Secrets Manager source against moto server (scripts/standins.sh): fetch, cache,
//! invalidate, and errors that name the tenant, the secret and the key but never a value.

use std::time::Duration;

use picsync_aws::SecretsManagerSource;
use picsync_aws::testing;
use picsync_domain::TenantId;
use picsync_engine::EngineError;
use picsync_state::secrets::{SecretError, SecretSource};
use secrecy::ExposeSecret;

const TOKEN: &str = "tok-4f1c9a-very-secret";
const PASSWORD: &str = "pw-77d2e0-very-secret";

fn body(token: &str) -> String {
    format!(
        r#"{{"onefile_customer_token":"{token}","pics_username":"picsync","pics_password":"{PASSWORD}"}}"#
    )
}

async fn source(ttl: Duration) -> (SecretsManagerSource, aws_sdk_secretsmanager::Client, String) {
    let client = testing::secretsmanager().await;
    // a unique prefix per test: the stand-in is shared
    let prefix = format!("{}/", testing::unique("picsync"));
    (
        SecretsManagerSource::new(client.clone(), prefix.clone(), ttl),
        client,
        prefix,
    )
}

#[tokio::test]
async fn fetched_once_cached_and_refreshed_after_invalidate() {
    let (src, sm, prefix) = source(Duration::from_secs(600)).await;
    let t = TenantId::from("acme");
    sm.create_secret()
        .name(format!("{prefix}acme"))
        .secret_string(body(TOKEN))
        .send()
        .await
        .unwrap();
    let s = src.get(&t).await.unwrap();
    assert_eq!(s.onefile_customer_token.expose_secret(), TOKEN);
    assert_eq!(s.pics_username, "picsync");
    assert_eq!(s.pics_password.expose_secret(), PASSWORD);
    // the token is rotated in Secrets Manager: the container keeps its cached copy…
    sm.put_secret_value()
        .secret_id(format!("{prefix}acme"))
        .secret_string(body("tok-rotated"))
        .send()
        .await
        .unwrap();
    let again = src.get(&t).await.unwrap();
    assert_eq!(again.onefile_customer_token.expose_secret(), TOKEN);
    assert_eq!(src.fetches(), 1, "fetched once per container");
    // …until a 401 invalidates it
    src.invalidate(&t);
    let fresh = src.get(&t).await.unwrap();
    assert_eq!(fresh.onefile_customer_token.expose_secret(), "tok-rotated");
    assert_eq!(src.fetches(), 2);
}

#[tokio::test]
async fn the_cache_expires_after_its_ttl() {
    let (src, sm, prefix) = source(Duration::from_millis(50)).await;
    let t = TenantId::from("acme");
    sm.create_secret()
        .name(format!("{prefix}acme"))
        .secret_string(body(TOKEN))
        .send()
        .await
        .unwrap();
    src.get(&t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    src.get(&t).await.unwrap();
    assert_eq!(src.fetches(), 2);
}

#[tokio::test]
async fn a_missing_secret_names_tenant_and_secret_and_is_bad_input() {
    let (src, _, prefix) = source(Duration::from_secs(600)).await;
    let e = src.get(&TenantId::from("ghost")).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SecretError::Invalid { .. }), "{e:?}");
    assert!(
        msg.contains("\"ghost\"") && msg.contains(&format!("{prefix}ghost")),
        "{msg}"
    );
    assert!(msg.contains("does not exist"), "{msg}");
    let e = EngineError::from(e);
    assert!(
        e.is_bad_input() && !e.is_retryable(),
        "§7: a missing secret is bad input"
    );
}

#[tokio::test]
async fn a_missing_key_is_named_and_no_value_leaks() {
    let (src, sm, prefix) = source(Duration::from_secs(600)).await;
    sm.create_secret()
        .name(format!("{prefix}acme"))
        .secret_string(format!(
            r#"{{"onefile_customer_token":"{TOKEN}","pics_password":"{PASSWORD}"}}"#
        ))
        .send()
        .await
        .unwrap();
    let e = src.get(&TenantId::from("acme")).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("pics_username"), "{shown}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains(PASSWORD),
        "a value leaked: {shown}"
    );
    // a well-formed secret's Debug shows no value either
    sm.put_secret_value()
        .secret_id(format!("{prefix}acme"))
        .secret_string(body(TOKEN))
        .send()
        .await
        .unwrap();
    let s = src.get(&TenantId::from("acme")).await.unwrap();
    let dbg = format!("{s:?} {src:?}");
    assert!(!dbg.contains(TOKEN) && !dbg.contains(PASSWORD), "{dbg}");
}
