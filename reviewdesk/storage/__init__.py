"""Tables, engines, migrations and the queue's SQL. No Qt."""
