//! The profile claim custom-access-token adds to the access token.
