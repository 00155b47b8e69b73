-- Reserved for last-accessed data (users, roles, services); filled in by the change that adds it.
SELECT 1;
