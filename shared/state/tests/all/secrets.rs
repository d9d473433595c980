//! Secrets come from the file or the environment, missing ones are named, and values never
//! show in Debug output or errors.

use std::collections::HashMap;

use picsync_domain::TenantId;
use picsync_state::secrets::{FileSecrets, SecretError, SecretSource, env_var};
use secrecy::ExposeSecret;

const TOKEN: &str = "tok-SUPERSECRET-1234567890";
const PASSWORD: &str = "pw-HUNTER2-0987654321";

fn file(content: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), content).unwrap();
    f
}

#[tokio::test]
async fn reads_the_file_and_redacts_debug() {
    let f = file(&format!(
        "[acme]\nonefile_customer_token = \"{TOKEN}\"\npics_username = \"sync\"\npics_password = \"{PASSWORD}\"\n"
    ));
    let s = FileSecrets::with_env(Some(f.path()), |_| None)
        .get(&TenantId::from("acme"))
        .await
        .unwrap();
    assert_eq!(s.onefile_customer_token.expose_secret(), TOKEN);
    assert_eq!(s.pics_username, "sync");
    let debug = format!("{s:?}");
    assert!(
        !debug.contains(TOKEN) && !debug.contains(PASSWORD),
        "{debug}"
    );
}

#[tokio::test]
async fn environment_overrides_the_file() {
    assert_eq!(
        env_var(&TenantId::from("acme-2"), "pics_password"),
        "PICSYNC_ACME_2_PICS_PASSWORD"
    );
    let f = file(&format!(
        "[acme]\nonefile_customer_token = \"{TOKEN}\"\npics_username = \"sync\"\npics_password = \"{PASSWORD}\"\n"
    ));
    let env: HashMap<String, String> = [(
        "PICSYNC_ACME_PICS_USERNAME".to_string(),
        "other".to_string(),
    )]
    .into();
    let s = FileSecrets::with_env(Some(f.path()), move |k| env.get(k).cloned())
        .get(&TenantId::from("acme"))
        .await
        .unwrap();
    assert_eq!(s.pics_username, "other");
    // all three in the environment: no file needed
    let env: HashMap<String, String> = [
        (
            "PICSYNC_ACME_ONEFILE_CUSTOMER_TOKEN".to_string(),
            "t".to_string(),
        ),
        ("PICSYNC_ACME_PICS_USERNAME".to_string(), "u".to_string()),
        ("PICSYNC_ACME_PICS_PASSWORD".to_string(), "p".to_string()),
    ]
    .into();
    let s = FileSecrets::with_env(None, move |k| env.get(k).cloned())
        .get(&TenantId::from("acme"))
        .await
        .unwrap();
    assert_eq!(s.onefile_customer_token.expose_secret(), "t");
}

#[tokio::test]
async fn a_missing_secret_is_named_without_values() {
    let f = file(&format!(
        "[acme]\nonefile_customer_token = \"{TOKEN}\"\npics_username = \"sync\"\n"
    ));
    let e = FileSecrets::with_env(Some(f.path()), |_| None)
        .get(&TenantId::from("acme"))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(
        e,
        SecretError::Missing {
            key: "pics_password",
            ..
        }
    ));
    assert!(
        msg.contains("pics_password") && msg.contains("PICSYNC_ACME_PICS_PASSWORD"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
    // an unknown tenant: every key missing, the first named
    let e = FileSecrets::with_env(Some(f.path()), |_| None)
        .get(&TenantId::from("nobody"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("onefile_customer_token"));
}

#[tokio::test]
async fn a_broken_file_never_quotes_its_content() {
    let f = file(&format!(
        "[acme]\nonefile_customer_token = \"{TOKEN}\npics_username = 1\n"
    ));
    let e = FileSecrets::with_env(Some(f.path()), |_| None)
        .get(&TenantId::from("acme"))
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("SUPERSECRET"), "{shown}");
    let e = FileSecrets::with_env(
        Some(std::path::Path::new("/nonexistent/secrets.toml")),
        |_| None,
    )
    .get(&TenantId::from("acme"))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/secrets.toml"));
}
