-- 0015_mfa_path: a virtual MFA device's name is unique per path, as in AWS
-- (its serial number, arn:aws:iam::ACCOUNT:mfa/PATH/NAME, is the key).
ALTER TABLE mfa_devices DROP CONSTRAINT mfa_devices_account_name_key;
