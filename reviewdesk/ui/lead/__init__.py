"""The team lead's view (issue 5): statistics, recommendations, reviewers, escalations."""
