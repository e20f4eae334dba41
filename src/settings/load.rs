//! Loading the layers into `Settings` and reporting every problem at once, one line each,
//! naming where the value came from: the file's path, or the environment variable's name.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Profile, Provider};

use super::{DEFAULT_TOML, Overrides, Secret, Settings, SettingsError, alerting};

/// Stop looking for more after this many problems.
const MAX_PROBLEMS: usize = 50;

/// Environment variables read as whole keys (not through `STACKWATCH__` paths).
const RAW_VARIABLES: [(&str, &str); 2] = [
    ("STACKWATCH_LISTEN", "server.listen"),
    ("STACKWATCH_DATA_DIR", "server.data_dir"),
];

impl Settings {
    /// Loads every layer: defaults, the config file, the environment, then `overrides`.
    pub fn load(overrides: &Overrides) -> Result<Self, SettingsError> {
        Self::load_for(overrides, None)
    }

    /// As [`Settings::load`]; with `only_contact`, problems of other notifiers (a `${VAR}`
    /// not set, say) are not reported: `notify-test` tests one contact and needs only its.
    pub fn load_for(
        overrides: &Overrides,
        only_contact: Option<&str>,
    ) -> Result<Self, SettingsError> {
        let config_file = overrides
            .config_file
            .clone()
            .or_else(|| std::env::var_os("STACKWATCH_CONFIG").map(std::path::PathBuf::from));
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = &config_file {
            figment = figment.merge(config_file_layer(path)?);
        }
        figment = figment
            .merge(Env::prefixed("STACKWATCH__").split("__"))
            .merge(Env::raw().filter_map(|key| {
                RAW_VARIABLES
                    .iter()
                    .find(|(var, _)| key == *var)
                    .map(|(_, path)| (*path).into())
            }));
        if let Some(listen) = overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("server.data_dir", dir));
        }
        let (settings, mut problems) = extract_all(&figment);
        let Some(mut settings) = settings else {
            return Err(SettingsError { problems });
        };
        let env_tokens = add_env_tokens(&mut settings);
        let mut invalid = alerting::interpolate_env(&mut settings.notifiers);
        if let Err(e) = settings.validate() {
            invalid.extend(e.problems);
        }
        if let Some(contact) = only_contact {
            let own = format!("notifiers.{contact}.");
            invalid.retain(|p| !p.starts_with("notifiers.") || p.starts_with(&own));
        }
        for problem in invalid {
            problems.push(name_source(&figment, &problem, &env_tokens));
        }
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError { problems })
        }
    }
}

/// Where each token read from the environment sits: (key, index, variable).
type EnvTokens = Vec<(&'static str, usize, &'static str)>;

// Tokens are read raw: figment would parse an all-digit token as a number.
fn add_env_tokens(settings: &mut Settings) -> EnvTokens {
    let mut placed = Vec::new();
    for (variable, key, list) in [
        (
            "STACKWATCH_ADMIN_TOKEN",
            "auth.admin_tokens",
            &mut settings.auth.admin_tokens,
        ),
        (
            "STACKWATCH_READ_TOKEN",
            "auth.read_tokens",
            &mut settings.auth.read_tokens,
        ),
    ] {
        if let Ok(token) = std::env::var(variable) {
            placed.push((key, list.len(), variable));
            list.push(Secret::new(token));
        }
    }
    placed
}

fn config_file_layer(path: &Path) -> Result<Figment, SettingsError> {
    if !path.is_file() {
        return Err(SettingsError::one(format!(
            "{}: the configuration file does not exist or is not a file",
            path.display()
        )));
    }
    Ok(Figment::from(Toml::file_exact(path)))
}

/// Extracts the settings, finding every unknown or ill-typed key: each is reported, then
/// taken out so that its default shows through and the next problem can be found. The
/// settings come back too when, with those keys taken out, they could be read, so that
/// their values can still be checked.
fn extract_all(figment: &Figment) -> (Option<Settings>, Vec<String>) {
    let mut problems = Vec::new();
    let mut current = figment.clone();
    while problems.len() < MAX_PROBLEMS {
        let errors = match current.extract::<Settings>() {
            Ok(settings) => return (Some(settings), problems),
            Err(errors) => errors,
        };
        let mut removed = false;
        let mut dict = current
            .data()
            .ok()
            .and_then(|mut d| d.remove(&Profile::Default))
            .unwrap_or_default();
        for error in errors {
            let path = key_path(&error);
            problems.push(describe(figment, &path, &error.kind.to_string()));
            removed |= remove(&mut dict, &path);
        }
        if !removed {
            break;
        }
        current = Figment::from(Toml::string(DEFAULT_TOML)).merge(Serialized::defaults(dict));
    }
    (None, problems)
}

/// The key an error is about (an unknown field's own name included).
fn key_path(error: &figment::Error) -> Vec<String> {
    let mut path = error.path.clone();
    if let figment::error::Kind::UnknownField(field, _) = &error.kind
        && path.last() != Some(field)
    {
        path.push(field.clone());
    }
    path
}

/// Removes the value at `path`; whether there was one.
fn remove(dict: &mut Dict, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => dict.remove(last).is_some(),
        [first, rest @ ..] => match dict.get_mut(first) {
            Some(Value::Dict(_, inner)) => remove(inner, rest),
            _ => false,
        },
    }
}

/// `SOURCE: key: reason`, the source being the file or the environment variable the key's
/// value came from (nothing for the built-in defaults).
fn describe(figment: &Figment, path: &[String], reason: &str) -> String {
    let key = if path.is_empty() {
        "(top level)".to_owned()
    } else {
        path.join(".")
    };
    match source_of(figment, path) {
        Some(source) => format!("{source}: {key}: {reason}"),
        None => format!("{key}: {reason}"),
    }
}

fn source_of(figment: &Figment, path: &[String]) -> Option<String> {
    let key = path.join(".");
    let metadata = figment.find_metadata(&key)?;
    if let Some(figment::Source::File(file)) = &metadata.source {
        return Some(file.display().to_string());
    }
    if !metadata.name.contains("environment") {
        return None;
    }
    if let Some((variable, _)) = RAW_VARIABLES.iter().find(|(_, k)| *k == key) {
        return Some(format!("environment variable {variable}"));
    }
    // `STACKWATCH__SECTION__KEY`, as the prefixed layer reads it.
    let variable = format!("STACKWATCH__{}", path.join("__").to_uppercase());
    if std::env::var_os(&variable).is_some() {
        Some(format!("environment variable {variable}"))
    } else {
        Some(metadata.name.to_string())
    }
}

/// A validation problem (`key: reason`) with the source of its key named.
fn name_source(figment: &Figment, problem: &str, env_tokens: &EnvTokens) -> String {
    let Some((key, reason)) = problem.split_once(": ") else {
        return problem.to_owned();
    };
    for (list, index, variable) in env_tokens {
        if key == format!("{list}[{index}]") {
            return format!("environment variable {variable}: {reason}");
        }
    }
    let path: Vec<String> = key
        .split('[')
        .next()
        .unwrap_or(key)
        .split('.')
        .map(str::to_owned)
        .collect();
    match source_of(figment, &path) {
        Some(source) => format!("{source}: {problem}"),
        None => problem.to_owned(),
    }
}
