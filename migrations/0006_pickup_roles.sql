-- 0006_pickup_roles.sql - who may do what in the My Number Card pickup
-- service's staff pages (src/pickup/staff*.c, RSV-8, RSV-10 ... RSV-16,
-- WIN-8), and the staging of CSV imports between preview and commit.
--
-- Permissions (catalog in src/admin/roles_admin.c):
--   booking.staff     live view, status changes, pull list, book on behalf
--                     at the counter (channel "counter")
--   booking.operator  book on a citizen's behalf by phone ("callcenter")
--   booking.settings  locations, opening hours, exceptions
--   pickup.import     bulk import of notices and of J-LIS card data
--   pickup.export     CSV lists by day and by time slot
-- The grants are idempotent (NOT EXISTS) so that a grant made by an
-- earlier migration or by an administrator is not duplicated.
--
-- roles.search_keys (migration 0001) lists, comma-separated, the keys a
-- role's members may search notices by (WIN-8): operators only the notice
-- number (交付通知書番号); citizen-services staff also the name in kana
-- and the status.  Administrators change them per role in the database.

INSERT INTO role_permissions (role_id, perm)
 SELECT r.id, 'booking.staff' FROM roles r
  WHERE r.name IN ('staff_citizen', 'sysadmin') AND NOT EXISTS
   (SELECT 1 FROM role_permissions p
     WHERE p.role_id = r.id AND p.perm = 'booking.staff');
INSERT INTO role_permissions (role_id, perm)
 SELECT r.id, 'booking.settings' FROM roles r
  WHERE r.name IN ('staff_citizen', 'sysadmin') AND NOT EXISTS
   (SELECT 1 FROM role_permissions p
     WHERE p.role_id = r.id AND p.perm = 'booking.settings');
INSERT INTO role_permissions (role_id, perm)
 SELECT r.id, 'pickup.import' FROM roles r
  WHERE r.name IN ('staff_citizen', 'sysadmin') AND NOT EXISTS
   (SELECT 1 FROM role_permissions p
     WHERE p.role_id = r.id AND p.perm = 'pickup.import');
INSERT INTO role_permissions (role_id, perm)
 SELECT r.id, 'pickup.export' FROM roles r
  WHERE r.name IN ('staff_citizen', 'sysadmin') AND NOT EXISTS
   (SELECT 1 FROM role_permissions p
     WHERE p.role_id = r.id AND p.perm = 'pickup.export');
INSERT INTO role_permissions (role_id, perm)
 SELECT r.id, 'booking.operator' FROM roles r
  WHERE r.name IN ('operator', 'sysadmin') AND NOT EXISTS
   (SELECT 1 FROM role_permissions p
     WHERE p.role_id = r.id AND p.perm = 'booking.operator');

UPDATE roles SET search_keys = 'notice_no' WHERE name = 'operator';
UPDATE roles SET search_keys = 'notice_no,name_kana,status'
 WHERE name IN ('staff_citizen', 'sysadmin');

-- An uploaded CSV between its preview and its commit (RSV-14, RSV-16):
-- the commit validates the same bytes again and imports them in one
-- transaction, so nothing the member of staff did not see is imported.
-- data holds personal data (names, birthdays) and is stored encrypted
-- (field_encrypt, context "pickup_import_batches.data"); the token is
-- kept as its SHA-256 only.  Rows are deleted at commit and after an hour.
CREATE TABLE pickup_import_batches (
    id @ID@,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('notices', 'jlis')),
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename TEXT NOT NULL DEFAULT '',
    encoding TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX pickup_import_batches_created ON pickup_import_batches(created_at);
