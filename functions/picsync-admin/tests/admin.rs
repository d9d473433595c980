//! `picsync-admin` as an operator runs it, in its own package (issue 15: the scheduler Lambda's
//! package carries the Lambda only): its help, and input errors named with exit code 2 before
//! any AWS call.

// the package's dependencies are the binary's; this test runs it as a process
#![allow(unused_crate_dependencies)]

use std::process::{Command, Output};

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picsync-admin"))
        .args(args)
        // nowhere to reach: an input error must be found before any AWS call
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "eu-west-2")
        .env_remove("TABLE_NAME")
        .output()
        .expect("the picsync-admin binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn s15_picsync_admin_has_its_tenant_and_table_commands() {
    let top = admin(&["--help"]);
    assert!(top.status.success(), "{}", text(&top));
    let t = text(&top);
    assert!(t.contains("tenant") && t.contains("table"), "{t}");
    for sub in [
        &["tenant", "put"][..],
        &["tenant", "get"],
        &["table", "create"],
    ] {
        let o = admin(&[sub, &["--help"]].concat());
        assert!(o.status.success(), "{sub:?} --help: {}", text(&o));
        assert!(text(&o).contains("--table"), "{sub:?}");
    }
}

#[test]
fn s15_a_bad_tenant_id_or_profile_file_exits_2_naming_it() {
    let missing = std::env::temp_dir().join(format!("absent-{}.toml", std::process::id()));
    let o = admin(&[
        "tenant",
        "put",
        "--table",
        "T",
        "--tenant",
        "acme",
        "--file",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(missing.to_str().unwrap()), "{}", text(&o));
    let o = admin(&["tenant", "get", "--table", "T", "--tenant", "a/b"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("'/'"), "{}", text(&o));
}
