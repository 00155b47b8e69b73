-- Reserved for the revocation set; filled in by the change that adds it.
SELECT 1;
