-- Roles: `admin` joins `customer` and `staff` (an admin is staff who may also change roles and
-- deactivate staff), and the oldest staff account of an existing shop becomes its admin, so a
-- shop upgraded from staff-only roles keeps someone who can manage staff.
-- (SQLite rebuilds the table for the same change; the file names match.)
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'staff', 'admin'));

UPDATE users SET role = 'admin'
WHERE id = (SELECT id FROM users WHERE role = 'staff' ORDER BY created_at, id LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin');
