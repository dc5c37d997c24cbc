//! The chained access-token hook: where it is (a function in the mirror database, or a
//! URL), how it is called, and what its failures mean, as Supabase Auth would have
//! reported them.

use super::answer::{self, Refusal, Reply};
use super::webhook::{CallError, Webhook};
use crate::config::{Chain, ChainTarget};
use crate::mirroring::{Handled, Mirroring};
use crate::storage::{Backend, Database};
use std::time::Duration;

/// Where the chained hook is called.
pub(super) enum Chained {
    Function {
        schema: String,
        function: String,
        timeout: Duration,
    },
    Webhook(Webhook),
}

impl Chained {
    /// The hook `chain` names, checked against the mirror database `about`.
    pub(super) fn new(chain: &Chain, about: &Database) -> Result<Self, String> {
        Ok(match &chain.target {
            ChainTarget::Function(f) => {
                check_function_database(&f.database, about)?;
                Self::Function {
                    schema: f.schema.clone(),
                    function: f.function.clone(),
                    timeout: chain.timeout,
                }
            }
            ChainTarget::Webhook { url, secrets } => {
                Self::Webhook(Webhook::new(url.clone(), secrets.clone(), chain.timeout)?)
            }
        })
    }

    /// Hands the event to the chained hook and reads its answer.
    pub(super) async fn call(
        &self,
        mirroring: &Mirroring,
        event: &[u8],
        handled: Handled,
    ) -> Result<Reply, Failure> {
        let answered = match self {
            Self::Webhook(webhook) => webhook.call(event).await.map_err(|e| match e {
                CallError::TimedOut(after) => Failure::TimedOut(after),
                CallError::Failed(reason) => Failure::Broken(reason),
            })?,
            Self::Function { .. } if handled == Handled::Spooled => {
                return Err(Failure::Broken("the database is unreachable".to_owned()));
            }
            Self::Function {
                schema,
                function,
                timeout,
            } => {
                let event = std::str::from_utf8(event)
                    .map_err(|e| Failure::Broken(format!("the event is not UTF-8: {e}")))?;
                mirroring
                    .storage()
                    .call_hook_function(schema, function, event, *timeout)
                    .await
                    .map_err(|e| {
                        let reason = crate::infra::error_chain::describe(&e);
                        Failure::Broken(format!("failed in the database: {reason}"))
                    })?
            }
        };
        answer::interpret(answered).map_err(Failure::Broken)
    }
}

/// Why the chained hook or the claims query gave nothing to use.
pub(super) enum Failure {
    /// The chained hook did not answer in time.
    TimedOut(Duration),
    /// Anything else, said in words.
    Broken(String),
}

impl Failure {
    /// The refusal Supabase Auth would have made: 422 for a hook out of time (its
    /// `hook_timeout`), 500 for the rest.
    pub(super) fn refusal(self, source: &str) -> Refusal {
        let what = match source {
            "chain" => "the access token hook",
            _ => "the token claims",
        };
        match self {
            Self::TimedOut(after) => Refusal {
                http_code: 422,
                message: format!("{what} did not answer within {} ms", after.as_millis()),
            },
            Self::Broken(reason) if source == "chain" => Refusal {
                http_code: 500,
                message: format!("{what} {reason}"),
            },
            Self::Broken(reason) => Refusal {
                http_code: 500,
                message: reason,
            },
        }
    }
}

/// A `pg-functions://` hook runs in the mirror database, which must be PostgreSQL;
/// its URI names it `postgres` (as Supabase always writes it) or by its own name.
fn check_function_database(database: &str, about: &Database) -> Result<(), String> {
    if about.backend != "postgres" {
        return Err(
            "SUPAHOOK_ACCESS_TOKEN_CHAIN: a pg-functions:// hook runs in the mirror database, \
             which must be PostgreSQL (DATABASE_URL=postgres://...)"
                .to_owned(),
        );
    }
    let own = about.identity.rsplit('/').next().unwrap_or_default();
    match database == "postgres" || database == own {
        true => Ok(()),
        false => Err(format!(
            "SUPAHOOK_ACCESS_TOKEN_CHAIN: the function is called in the mirror database \
             `{own}`; write pg-functions://postgres/... or pg-functions://{own}/..., \
             not `{database}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(backend: &'static str, identity: &str) -> Database {
        Database {
            backend,
            shown: String::new(),
            identity: identity.to_owned(),
        }
    }

    #[test]
    fn a_function_hook_runs_in_the_mirror_database_on_postgresql_only() {
        let mirror = database("postgres", "postgres://db:5432/app");

        assert!(check_function_database("postgres", &mirror).is_ok());
        assert!(check_function_database("app", &mirror).is_ok());
        let other = check_function_database("other", &mirror).unwrap_err();
        assert!(other.contains("pg-functions://app/"), "{other}");
        let sqlite = database("sqlite", "sqlite:///data/supahook.db");
        let refused = check_function_database("postgres", &sqlite).unwrap_err();
        assert!(refused.contains("PostgreSQL"), "{refused}");
    }
}
