//! What a chained access-token hook answered, read as Supabase Auth reads it: an
//! `error` with a message is the hook's refusal, passed on; otherwise `claims` must be
//! there and pass [`schema::check`](super::schema::check).

use serde_json::{Map, Value};

/// A refusal to pass on to Supabase Auth, which answers the client with `http_code`
/// and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status Supabase Auth answers the client with.
    pub http_code: u16,
    /// The message the client sees.
    pub message: String,
}

/// What the chained hook decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The claims to sign, replacing the input claims.
    Claims(Map<String, Value>),
    /// The hook refused the token.
    Refused(Refusal),
}

/// Reads the hook's answer; `Err` says why Supabase Auth would not take it.
pub fn interpret(answer: Option<Value>) -> Result<Reply, String> {
    let Some(Value::Object(mut answer)) = answer else {
        return Err("answered with something other than a JSON object".to_owned());
    };
    if let Some(refusal) = refusal(answer.get("error")) {
        return Ok(Reply::Refused(refusal));
    }
    match answer.remove("claims") {
        Some(Value::Object(claims)) => match super::schema::check(&claims) {
            Ok(()) => Ok(Reply::Claims(claims)),
            Err(fault) => Err(format!(
                "answered with claims Supabase Auth would refuse: {fault}"
            )),
        },
        Some(_) => Err("answered with `claims` that is not an object".to_owned()),
        None => Err("answered without `claims`".to_owned()),
    }
}

/// An `error` object counts only with a non-empty `message`, as in Supabase Auth; a
/// missing or zero `http_code` means 500.
fn refusal(error: Option<&Value>) -> Option<Refusal> {
    let error = error?.as_object()?;
    let message = error.get("message")?.as_str().filter(|m| !m.is_empty())?;
    let http_code = error
        .get("http_code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (100..=599).contains(code))
        .unwrap_or(500);
    Some(Refusal {
        http_code,
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token() -> Value {
        json!({"aud": "authenticated", "exp": 2, "iat": 1, "sub": "u", "email": "",
               "phone": "", "role": "authenticated", "aal": "aal1", "session_id": "s",
               "is_anonymous": false})
    }

    #[test]
    fn claims_that_pass_are_taken() {
        let reply = interpret(Some(json!({"claims": token()}))).unwrap();
        assert_eq!(reply, Reply::Claims(token().as_object().unwrap().clone()));
    }

    #[test]
    fn an_error_with_a_message_is_a_refusal() {
        let reply = interpret(Some(
            json!({"error": {"http_code": 403, "message": "banned"}}),
        ));
        assert_eq!(
            reply,
            Ok(Reply::Refused(Refusal {
                http_code: 403,
                message: "banned".into()
            }))
        );
        let reply = interpret(Some(json!({"error": {"message": "no"}})));
        assert!(matches!(
            reply,
            Ok(Reply::Refused(Refusal { http_code: 500, .. }))
        ));
    }

    #[test]
    fn an_error_without_a_message_is_ignored_as_in_supabase() {
        let reply = interpret(Some(
            json!({"error": {"http_code": 403}, "claims": token()}),
        ));
        assert!(matches!(reply, Ok(Reply::Claims(_))));
    }

    #[test]
    fn broken_answers_say_what_is_wrong() {
        assert!(interpret(None).unwrap_err().contains("JSON object"));
        assert!(
            interpret(Some(json!({})))
                .unwrap_err()
                .contains("without `claims`")
        );
        let fault = interpret(Some(json!({"claims": {"sub": "u"}}))).unwrap_err();
        assert!(fault.contains("`role` is missing"), "{fault}");
    }
}
