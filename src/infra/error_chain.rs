//! One line for an error and its causes, for messages people read.

/// The error and every cause under it, each once:
/// `error connecting to server: Connection refused (os error 111)`.
/// A cause whose text the line already holds is not repeated.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("read failed: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn each_cause_appears_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(super::describe(&Outer(io())), "outer: refused");
        assert_eq!(super::describe(&Repeats(io())), "read failed: refused");
    }
}
