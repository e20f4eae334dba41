//! `depends_on` held where checks are written, inside the writing transaction: every check
//! named exists, and no check relies on itself through others.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::StoreError;
use super::db::{Sql, Tx};
use crate::domain::{CheckName, CheckSpec};

/// Refuses the first of `written` (position in the request, name, spec) that names a check
/// that does not exist or closes a loop of `depends_on`.
pub(super) async fn check_dependencies(
    tx: &mut Tx,
    written: &[(usize, &CheckName, &CheckSpec)],
) -> Result<(), StoreError> {
    if written
        .iter()
        .all(|(_, _, spec)| spec.depends_on().is_empty())
    {
        return Ok(());
    }
    let edges = stored_edges(tx).await?;
    let named: HashSet<&str> = written
        .iter()
        .flat_map(|(_, _, spec)| spec.depends_on().iter().map(CheckName::as_str))
        .collect();
    let mut query = Sql::new("SELECT name FROM checks WHERE name IN ");
    query.push_list(named.iter().copied());
    let existing: HashSet<String> = query
        .scalar_all::<String>(tx.on())
        .await?
        .into_iter()
        .collect();
    for (index, name, spec) in written {
        let refused = |reason: String| StoreError::Dependency {
            index: *index,
            name: (*name).clone(),
            reason,
        };
        if let Some(missing) = spec
            .depends_on()
            .iter()
            .find(|d| !existing.contains(d.as_str()))
        {
            return Err(refused(format!("no check is named {missing}")));
        }
        if let Some(cycle) = cycle_through(name.as_str(), &edges) {
            return Err(refused(format!(
                "would make a cycle: {}",
                cycle.join(" → ")
            )));
        }
    }
    Ok(())
}

/// What a check's row holds of its `depends_on`: the names as a JSON list, or nothing
/// when it names none, so [`stored_edges`] reads only the checks that have some.
pub(super) fn column(spec: &CheckSpec) -> Option<String> {
    let named = spec.depends_on();
    (!named.is_empty()).then(|| {
        let names: Vec<&str> = named.iter().map(CheckName::as_str).collect();
        Value::from(names).to_string()
    })
}

/// Every stored check's `depends_on`, by name: from the partial index on the column,
/// whatever the number of checks that name none.
async fn stored_edges(tx: &mut Tx) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let rows: Vec<(String, String)> =
        Sql::new("SELECT name, depends_on FROM checks WHERE depends_on IS NOT NULL")
            .fetch_all(tx.on())
            .await?;
    rows.into_iter()
        .map(
            |(name, list)| match serde_json::from_str::<Vec<String>>(&list) {
                Ok(named) => Ok((name, named)),
                Err(e) => Err(StoreError::Corrupt {
                    name,
                    reason: format!("depends_on column: {e}"),
                }),
            },
        )
        .collect()
}

/// A loop of `depends_on` from `start` back to it, as the names along it.
fn cycle_through(start: &str, edges: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
    // Depth first, keeping the path to each name reached.
    let mut stack: Vec<(String, Vec<String>)> = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = HashSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            if next == start {
                return Some(longer);
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_back_to_the_start_is_found_and_named() {
        let edges: HashMap<String, Vec<String>> = [
            ("worker", vec!["redis", "web"]),
            ("web", vec!["db"]),
            ("db", vec!["worker"]),
            ("redis", vec![]),
            ("self", vec!["self"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(
            cycle_through("worker", &edges),
            Some(vec![
                "worker".into(),
                "web".into(),
                "db".into(),
                "worker".into()
            ])
        );
        assert_eq!(cycle_through("redis", &edges), None);
        assert_eq!(
            cycle_through("self", &edges),
            Some(vec!["self".into(), "self".into()])
        );
    }
}
