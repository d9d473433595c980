//! Reading a OneFile reply never panics, whatever the bytes (the same entry point as the
//! cargo-fuzz target in fuzz/).

use picsync_onefile::fuzzing::parse_every_way;
use proptest::prelude::*;

/// JSON-shaped values with the field names and value shapes OneFile uses.
fn value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[0-9T:.Z+-]{0,30}".prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let key = prop_oneof![
            Just("ID".to_string()),
            Just("LastModified".to_string()),
            Just("RegistrationDate".to_string()),
            Just("ScheduledFor".to_string()),
            Just("Pathways".to_string()),
            Just("TotalElements".to_string()),
            Just("MISID".to_string()),
            "[A-Za-z]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        parse_every_way(&bytes);
    }

    #[test]
    fn json_shaped_replies_never_panic(v in value(), cut in 0usize..64) {
        let text = v.to_string();
        parse_every_way(text.as_bytes());
        // and the same reply cut short
        let end = text.len().saturating_sub(cut);
        parse_every_way(&text.as_bytes()[..end]);
    }
}

#[test]
fn a_well_formed_reply_parses() {
    let body = br#"[{"ID": 5, "FirstName": "Ada", "LastModified": "2024-05-31T23:00:00.000Z", "Code": "ST0001", "Pathways": []}]"#;
    assert!(parse_every_way(body) >= 3);
}
