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
        // B4: dates at and beyond the edges of chrono's range and of the sane years
        prop_oneof![
            Just("-262143-01-01T00:00:00Z"),
            Just("-262143-01-01T00:00:00+01:00"),
            Just("+262142-12-31T23:30:00"),
            Just("+262142-12-31T23:59:59.999-01:00"),
            Just("1899-12-31T23:59:59.999Z"),
            Just("2200-12-31T23:59:59.999-14:00"),
            Just("0000-01-01"),
        ]
        .prop_map(serde_json::Value::from),
        "[+-][0-9]{6}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]([.][0-9]{1,7})?(Z|[+-][01][0-9]:[0-5][0-9])?"
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let key = prop_oneof![
            Just("ID".to_string()),
            Just("LastModified".to_string()),
            Just("RegistrationDate".to_string()),
            Just("ScheduledFor".to_string()),
            Just("StartedOn".to_string()),
            Just("DOB".to_string()),
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
fn extreme_dates_in_every_date_field_never_panic() {
    // B4: each of these panicked in the London conversions or the +60 minutes of R16
    for date in [
        "-262143-01-01T00:00:00Z",
        "-262143-01-01T00:00:00+01:00",
        "+262142-12-31T23:30:00",
        "+262142-12-31T23:59:59Z",
    ] {
        for field in [
            "ScheduledFor",
            "StartedOn",
            "LastModified",
            "DOB",
            "RegistrationDate",
            "StartOn",
        ] {
            let body = serde_json::json!([{ "ID": 5, field: date }]).to_string();
            parse_every_way(body.as_bytes());
            let one = serde_json::json!({ "ID": 5, field: date }).to_string();
            parse_every_way(one.as_bytes());
        }
    }
}

#[test]
fn a_well_formed_reply_parses() {
    let body = br#"[{"ID": 5, "FirstName": "Ada", "LastModified": "2024-05-31T23:00:00.000Z", "Code": "ST0001", "Pathways": []}]"#;
    assert!(parse_every_way(body) >= 3);
}
