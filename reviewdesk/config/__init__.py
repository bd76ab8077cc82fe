"""Where things live on disk, secrets, and packaged resources. No Qt, no database."""
