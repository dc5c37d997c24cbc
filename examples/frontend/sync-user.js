// Mirror the signed-in user into your own database through supahook, from the browser.
//
// supahook verifies the access token and takes the user from its claims, so the body
// carries only fields your application owns. The call is fire-and-forget: a failure is
// logged and retried on the next auth event, and it never blocks or undoes the sign-in
// (with the custom-access-token hook configured, the user is mirrored server-side anyway).
//
// supahook needs SUPAHOOK_JWKS_URL=https://<project-ref>.supabase.co/auth/v1/.well-known/jwks.json
// (or SUPAHOOK_JWT_SECRET for projects still on the shared secret) and
// SUPAHOOK_CORS_ORIGINS=https://your-app.example.com.
import { createClient } from "@supabase/supabase-js";

const supabase = createClient(import.meta.env.VITE_SUPABASE_URL, import.meta.env.VITE_SUPABASE_ANON_KEY);
const SUPAHOOK_URL = import.meta.env.VITE_SUPAHOOK_URL; // e.g. https://supahook.example.com

async function syncUser(session) {
  try {
    const response = await fetch(`${SUPAHOOK_URL}/api/auth/users/sync`, {
      method: "POST",
      headers: { Authorization: `Bearer ${session.access_token}` },
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) {
      const { error } = await response.json().catch(() => ({}));
      console.warn("supahook sync failed", response.status, error?.code, error?.message);
      return null;
    }
    const { user, created } = await response.json();
    return { user, created }; // user.profile.display_name, user.is_onboarded, ...
  } catch (err) {
    console.warn("supahook sync failed", err); // offline, timeout, CORS: sign-in goes on
    return null;
  }
}

supabase.auth.onAuthStateChange((event, session) => {
  if (!session || !["SIGNED_IN", "TOKEN_REFRESHED", "USER_UPDATED"].includes(event)) return;
  // Never await supabase calls (or this one) inside the callback: defer, so auth is not blocked.
  setTimeout(() => {
    syncUser(session).then((result) => {
      if (result?.created) console.info("welcome!", result.user.profile?.display_name);
    });
  }, 0);
});
