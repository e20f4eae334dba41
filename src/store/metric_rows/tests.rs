//! The packed columns of `/metrics` read back: fields, state codes, and packs refused.

use super::*;

const ROW: char = PACK_ROW as char;
const FIELD: char = PACK_FIELD as char;

/// A pack of these checks' fields (name, stack, state).
fn pack(checks: &[[&str; 3]]) -> MetricPack {
    let column = |i: usize| {
        let fields: Vec<&str> = checks.iter().map(|c| c[i]).collect();
        (!checks.is_empty()).then(|| fields.join(&ROW.to_string()))
    };
    MetricPack {
        names: column(0),
        stacks: column(1),
        states: column(2),
    }
}

fn unpack(pack: &MetricPack) -> Result<Vec<MetricRow<'_>>, StoreError> {
    let mut rows = Vec::new();
    unpack_metric_rows(pack, &mut |row| rows.push(row))?;
    Ok(rows)
}

#[test]
fn a_pack_gives_each_check_with_empty_fields_as_none() {
    let web = format!("101{FIELD}1700000000000{FIELD}{{\"fra\":1}}");
    let pack = pack(&[["web", "shop", &web], ["job", "", "910"], ["db", "", "200"]]);
    let rows = unpack(&pack).unwrap();
    assert_eq!(
        rows,
        vec![
            MetricRow {
                name: "web",
                stack: Some("shop"),
                health: Some(1),
                cert_not_after: Some(1_700_000_000_000),
                heartbeat: false,
                domain: false,
                degradable: true,
                votes: Some("{\"fra\":1}"),
            },
            MetricRow {
                name: "job",
                stack: None,
                health: None,
                cert_not_after: None,
                heartbeat: true,
                domain: false,
                degradable: false,
                votes: None,
            },
            MetricRow {
                name: "db",
                stack: None,
                health: Some(2),
                cert_not_after: None,
                heartbeat: false,
                domain: false,
                degradable: false,
                votes: None,
            },
        ]
    );
    assert_eq!(unpack(&MetricPack::default()).unwrap(), vec![]);
}

#[test]
fn a_pack_of_a_domain_check_says_so_and_votes_may_come_without_an_expiry() {
    let domain = format!("120{FIELD}1800000000000{FIELD}");
    let voted = format!("300{FIELD}{FIELD}{{\"a\":1}}");
    let pack = pack(&[["example-org", "", &domain], ["web", "", &voted]]);
    let rows = unpack(&pack).unwrap();
    assert!(rows[0].domain && !rows[0].heartbeat);
    assert_eq!(rows[0].cert_not_after, Some(1_800_000_000_000));
    assert_eq!(rows[0].votes, None);
    assert_eq!(rows[1].health, Some(3));
    assert_eq!(rows[1].cert_not_after, None);
    assert_eq!(rows[1].votes, Some("{\"a\":1}"));
}

#[test]
fn fields_split_as_str_split_does() {
    for packed in [
        "",
        "a",
        "a\u{1e}",
        "\u{1e}a",
        "ab\u{1e}\u{1e}é\u{1e}c",
        "\u{1e}",
    ] {
        assert!(fields(packed, PACK_ROW).eq(packed.split(ROW)), "{packed:?}");
    }
}

#[test]
fn a_pack_spans_more_ids_as_deleted_checks_thin_them_out() {
    assert_eq!(pack_width(1_000_000, 1_000_000), METRIC_ROWS_PER_PACK);
    assert_eq!(pack_width(5, 1_000), METRIC_ROWS_PER_PACK);
    assert_eq!(pack_width(4_000_000, 1_000_000), 4 * METRIC_ROWS_PER_PACK);
    assert_eq!(pack_width(7, 0), METRIC_ROWS_PER_PACK);
}

#[test]
fn a_pack_whose_columns_disagree_or_with_a_bad_field_is_refused_naming_a_check() {
    let web = ["web", "shop", "100"];
    let mut short = pack(&[web, ["db", "", "100"]]);
    short.stacks = Some("shop".to_owned());
    let mut long = pack(&[web]);
    long.states = Some(format!("100{ROW}100"));
    let cases = [
        (short, "db"),
        (long, "web"),
        (pack(&[["web", "", "up"]]), "web"),
        // Each digit out of its range, and a code of four digits.
        (pack(&[["web", "", "400"]]), "web"),
        (pack(&[["web", "", "130"]]), "web"),
        (pack(&[["web", "", "102"]]), "web"),
        (pack(&[["web", "", "1000"]]), "web"),
        (
            pack(&[["web", "", &format!("100{FIELD}soon{FIELD}")]]),
            "web",
        ),
        (
            pack(&[["web", "", &format!("100{FIELD}1700000000000")]]),
            "web",
        ),
    ];
    for (pack, check) in cases {
        match unpack(&pack) {
            Err(StoreError::Corrupt { name, .. }) => assert_eq!(name, check),
            other => panic!("{check}: {other:?}"),
        }
    }
}
