//! supahook's own side: the mirror database reachable as `DATABASE_URL` says (TLS
//! included), its migrations applied, and nothing waiting in the spool.

use super::report::Check;
use crate::config::{OnStoreFailure, Settings};
use crate::storage::{Backend, Storage};
use secrecy::ExposeSecret;

/// The database and its migrations: two checks, read on one connection of their own.
pub async fn database(settings: &Settings) -> Vec<Check> {
    let name = "mirror database (DATABASE_URL)";
    let storage = match Storage::open(settings.database_url().expose_secret(), 1) {
        Ok(storage) => storage,
        Err(error) => {
            return vec![Check::problem(
                name,
                error.to_string(),
                "correct DATABASE_URL",
            )];
        }
    };
    let shown = storage.about().shown;
    match storage.pending_migrations().await {
        Ok(pending) => vec![
            Check::ok(name, format!("reached {shown}")),
            migrations(&pending),
        ],
        Err(error) => {
            let (problem, fix) = match storage.refusal() {
                Some(refusal) => (
                    format!("{shown} refuses supahook: {refusal}"),
                    "correct DATABASE_URL (or the database's roles, pg_hba.conf or certificates)",
                ),
                None => (
                    format!("cannot reach {shown}: {error}"),
                    "check that the database runs and that DATABASE_URL (host, port, sslmode, \
                     sslrootcert) names it",
                ),
            };
            vec![
                Check::problem(name, problem, fix),
                Check::skipped("migrations", "the database cannot be reached"),
            ]
        }
    }
}

fn migrations(pending: &[String]) -> Check {
    match pending {
        [] => Check::ok("migrations", "all applied"),
        pending => Check::problem(
            "migrations",
            format!("{} pending: {}", pending.len(), pending.join(", ")),
            "run `supahook migrate` (serve applies them at start)",
        ),
    }
}

/// The spool: asked of the running supahook at `base` when given (its spool file is
/// its own while it runs), else read from the data directory.
pub async fn spool(settings: &Settings, service: Option<(&reqwest::Client, &str)>) -> Check {
    let name = "spool";
    if settings.on_store_failure == OnStoreFailure::Closed {
        return Check::ok(name, "none: SUPAHOOK_ON_STORE_FAILURE=closed");
    }
    match service {
        Some((client, base)) => spool_of_service(client, base).await,
        None => spool_file(settings).await,
    }
}

/// The depth the running supahook reports at `/health/ready`.
async fn spool_of_service(client: &reqwest::Client, base: &str) -> Check {
    let name = "spool";
    let url = format!("{}/health/ready", base.trim_end_matches('/'));
    let answer = match client.get(&url).send().await {
        Ok(response) => response.text().await,
        Err(error) => Err(error),
    };
    let readiness = match answer.map(|text| serde_json::from_str::<serde_json::Value>(&text)) {
        Ok(Ok(readiness)) => readiness,
        Ok(Err(_)) => {
            let problem = format!("{url} did not answer with supahook's readiness");
            return Check::problem(name, problem, "pass the URL of supahook itself");
        }
        Err(error) => {
            let problem = format!(
                "no readiness from {url}: {}",
                crate::infra::error_chain::describe(&error)
            );
            return Check::problem(name, problem, "check that supahook runs at --url");
        }
    };
    let depth = readiness["spool_depth"].as_u64().unwrap_or(0);
    let database = readiness["database"].as_str().unwrap_or("unknown");
    match depth {
        0 => Check::ok(name, format!("empty ({url})")),
        depth => Check::problem(
            name,
            format!(
                "{depth} deliveries wait in the running supahook's spool (oldest {} s); its \
                 database is {database}",
                readiness["spool_oldest_age_seconds"]
                    .as_f64()
                    .unwrap_or(0.0)
            ),
            "bring the database back (or correct DATABASE_URL); the spool drains by itself",
        ),
    }
}

/// The spool file in the data directory, when no supahook holds it.
async fn spool_file(settings: &Settings) -> Check {
    let name = "spool";
    let dir = &settings.data_dir;
    if !dir.join(crate::spool::FILE_NAME).exists() {
        return Check::ok(name, format!("no spool file in {}", dir.display()));
    }
    let spool = match crate::spool::Spool::open(dir) {
        Ok((spool, _)) => spool,
        Err(error) => {
            return Check::problem(
                name,
                error.to_string(),
                "pass --url: a running supahook holds its spool file and reports its depth",
            );
        }
    };
    let set_aside = spool
        .set_aside_entries()
        .await
        .map(|e| e.len())
        .unwrap_or(0);
    match (spool.depth(), set_aside) {
        (0, 0) => Check::ok(name, format!("empty ({})", dir.display())),
        (waiting, set_aside) => Check::problem(
            name,
            format!(
                "{waiting} deliveries wait and {set_aside} are set aside in {}",
                dir.display()
            ),
            "start supahook with its database reachable: the waiting ones drain; set-aside \
             ones were refused by the database for good (see the log for why)",
        ),
    }
}
