DROP TABLE webhook_events;
DROP TABLE profiles;
DROP TABLE users;
