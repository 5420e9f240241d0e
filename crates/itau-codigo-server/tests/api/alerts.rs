//! `deploy/prometheus/alerts.yml`: valid for Prometheus (`promtool check rules`), each
//! rule unit-tested by promtool on a bad series (it fires) and a good one (it stays
//! quiet), and each rule, and each metric family it reads, in OPERATIONS.md's
//! reference.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::prometheus::{documented_alerts, documented_families, promtool, read_yaml, root};

fn rules_file() -> PathBuf {
    root().join("deploy/prometheus/alerts.yml")
}

fn tests_file() -> PathBuf {
    root().join("deploy/prometheus/alerts.test.yml")
}

/// Every alerting rule of alerts.yml, by name.
fn rules() -> BTreeMap<String, Value> {
    let file = read_yaml(&rules_file());
    let mut rules = BTreeMap::new();
    for group in file["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let name = rule["alert"]
                .as_str()
                .expect("only alerting rules")
                .to_owned();
            assert!(
                rules.insert(name.clone(), rule.clone()).is_none(),
                "{name} twice"
            );
        }
    }
    assert!(!rules.is_empty());
    rules
}

fn promtool_succeeds(args: &[&str]) {
    let Some(promtool) = promtool() else {
        return;
    };
    let output = Command::new(promtool).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_alert_rules_are_valid_for_prometheus() {
    promtool_succeeds(&["check", "rules", rules_file().to_str().unwrap()]);
}

#[test]
fn the_unit_tests_of_the_alert_rules_pass() {
    promtool_succeeds(&["test", "rules", tests_file().to_str().unwrap()]);
}

#[test]
fn every_alert_has_a_test_where_it_fires_and_one_where_it_stays_quiet() {
    let tests = read_yaml(&tests_file());
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for test in tests["tests"].as_array().unwrap() {
        for case in test["alert_rule_test"].as_array().unwrap() {
            let name = case["alertname"].as_str().unwrap().to_owned();
            match case["exp_alerts"].as_array().map(Vec::len) {
                Some(0) | None => quiet.insert(name),
                Some(_) => fires.insert(name),
            };
        }
    }
    for name in rules().keys() {
        assert!(fires.contains(name), "no test where {name} fires");
        assert!(quiet.contains(name), "no test where {name} stays quiet");
    }
    for name in fires.union(&quiet) {
        assert!(
            rules().contains_key(name),
            "a test of {name}, which is no rule"
        );
    }
}

/// The metric names an expression reads: the identifiers of our families (and the
/// usual `process_*`), a histogram's `_bucket`/`_sum`/`_count` as its family.
fn families_read_by(expr: &str, documented: &BTreeSet<String>) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("itau_codigo_") || word.starts_with("process_"))
        .map(|word| {
            if documented.contains(word) {
                return word.to_owned();
            }
            ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| word.strip_suffix(suffix))
                .find(|family| documented.contains(*family))
                .unwrap_or_else(|| {
                    panic!("{word} is not in OPERATIONS.md's table of metric families")
                })
                .to_owned()
        })
        .collect()
}

#[test]
fn the_metrics_reference_names_the_alerts_that_read_each_family() {
    let documented = documented_families();
    let names: BTreeSet<String> = documented.iter().map(|doc| doc.name.clone()).collect();
    let mut readers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (alert, rule) in rules() {
        for family in families_read_by(rule["expr"].as_str().unwrap(), &names) {
            readers.entry(family).or_default().insert(alert.clone());
        }
    }
    for doc in &documented {
        let listed: BTreeSet<String> = doc.alerts.iter().cloned().collect();
        assert_eq!(
            listed,
            readers.remove(&doc.name).unwrap_or_default(),
            "OPERATIONS.md: the alerts that read {}",
            doc.name
        );
    }
}

#[test]
fn operations_md_lists_every_alert_with_its_severity() {
    let documented: BTreeMap<String, String> = documented_alerts().into_iter().collect();
    let rules: BTreeMap<String, String> = rules()
        .into_iter()
        .map(|(name, rule)| {
            let severity = rule["labels"]["severity"].as_str().unwrap().to_owned();
            (name, severity)
        })
        .collect();
    assert_eq!(documented, rules);
}
