//! The hook secrets and the admin token: as configured, or generated in the data
//! directory on first start.

use crate::config::{SecretString, Settings};
use crate::infra::local_secrets;
use crate::signature::SigningKey;

/// The configured secrets, or the one generated in the data directory on first start;
/// and whether it was generated just now.
pub(super) fn hook_secrets(settings: &Settings) -> anyhow::Result<(Vec<SigningKey>, bool)> {
    if !settings.hook_secrets.is_empty() {
        return Ok((settings.hook_secrets.clone(), false));
    }
    let local =
        local_secrets::hook_secret(&settings.data_dir, true)?.expect("created when missing");
    let path = local.path.display();
    if local.created {
        tracing::info!(
            file = %path,
            "SUPAHOOK_HOOK_SECRETS is not set, so a hook secret was generated and saved. \
             Give Supabase the same value: in supabase/config.toml set \
             secrets = \"env(SUPAHOOK_HOOK_SECRETS)\" under [auth.hook.custom_access_token] and \
             [auth.hook.before_user_created], and export SUPAHOOK_HOOK_SECRETS=\"$(cat {path})\""
        );
    } else {
        tracing::info!(file = %path, "using the generated hook secret");
    }
    Ok((vec![local.value], local.created))
}

/// The configured admin token, or the one generated in the data directory.
pub(super) fn admin_token(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(token) = &settings.admin_token {
        return Ok(token.clone());
    }
    let local =
        local_secrets::admin_token(&settings.data_dir, true)?.expect("created when missing");
    tracing::info!(
        file = %local.path.display(),
        "SUPAHOOK_ADMIN_TOKEN is not set: the read API takes the generated token in this file"
    );
    Ok(local.value)
}
