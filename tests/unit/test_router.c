/*
** test_router.c - the route table (router.c): literal paths, ":name"
** segments copied into rq->params (and refused when empty, too long or too
** many), 404 for an unknown path against 405 for a known path with another
** method, HEAD served by the GET route, and no trailing-slash folding: a
** path matches its pattern exactly or not at all.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/http.h"
#include "core/util.h"

static int handler(struct req *rq, struct resp *rs)
{
    return 0;
}

/* The table is process-wide and has no reset: registered once, in main. */
static const struct route routes[] = {
    {"GET", "/", handler, NULL, ROUTE_PUBLIC},
    {"GET", "/admin/users", handler, "users.manage", 0},
    {"POST", "/admin/users", handler, "users.manage", 0},
    {"GET", "/admin/users/new", handler, "users.manage", 0},
    {"GET", "/admin/users/:id", handler, "users.manage", 0},
    {"GET", "/admin/users/:id/edit", handler, "users.manage", 0},
    {"POST", "/admin/users/:id/edit", handler, "users.manage", 0},
    {"POST", "/login", handler, NULL, ROUTE_PUBLIC},
    {"DELETE", "/api/v1/roles/:role/perms/:perm", handler, "roles.manage", 0},
    {"GET", "/many/:a/:b/:c/:d/:e", handler, NULL, 0},
    {"GET", "/four/:a/:b/:c/:d", handler, NULL, 0},
};

enum {
    R_ROOT,
    R_USERS_GET,
    R_USERS_POST,
    R_USERS_NEW,
    R_USER,
    R_USER_EDIT_GET,
    R_USER_EDIT_POST,
    R_LOGIN,
    R_PERM_DELETE,
    R_MANY,
    R_FOUR,
};

/* Matches method and path; returns 0, 404 or 405 and the route in *out. */
static int route(struct req *rq, const char *method, const char *path,
                 const struct route **out)
{
    memset(rq, 0, sizeof *rq);
    rq->method = method;
    rq->path = path;
    *out = NULL;
    return router_match(rq, out);
}

static void expect_route(const char *method, const char *path, int want)
{
    struct req rq;
    const struct route *r;
    int rc = route(&rq, method, path, &r);
    if (rc != 0 || r != &routes[want])
        fail_msg("%s %s: got %d (route %ld), want route %d", method, path, rc,
                 r ? (long)(r - routes) : -1L, want);
}

static void expect_status(const char *method, const char *path, int want)
{
    struct req rq;
    const struct route *r;
    int rc = route(&rq, method, path, &r);
    if (rc != want)
        fail_msg("%s %s: got %d, want %d", method, path, rc, want);
}

static void test_literal_paths(void **state)
{
    expect_route("GET", "/", R_ROOT);
    expect_route("GET", "/admin/users", R_USERS_GET);
    expect_route("POST", "/admin/users", R_USERS_POST);
    expect_route("POST", "/login", R_LOGIN);
    /* A literal registered before a :param route of the same shape wins. */
    expect_route("GET", "/admin/users/new", R_USERS_NEW);
    /* Prefixes and extensions of a literal are other paths. */
    expect_status("GET", "/admin", 404);
    expect_status("GET", "/admin/user", 404);
    expect_status("GET", "/admin/usersx", 404);
    expect_status("GET", "/admin/users/new/x", 404);
    expect_status("GET", "", 404);
    expect_status("GET", "/nothing/here", 404);
    /* Paths are compared byte for byte: no case folding. */
    expect_status("GET", "/Admin/users", 404);
}

static void test_params_captured(void **state)
{
    struct req rq;
    const struct route *r;
    assert_int_equal(route(&rq, "GET", "/admin/users/42", &r), 0);
    assert_ptr_equal(r, &routes[R_USER]);
    assert_string_equal(rq.params[0], "42");
    assert_null(rq.params[1]);

    assert_int_equal(route(&rq, "POST", "/admin/users/7/edit", &r), 0);
    assert_ptr_equal(r, &routes[R_USER_EDIT_POST]);
    assert_string_equal(rq.params[0], "7");

    assert_int_equal(
        route(&rq, "DELETE", "/api/v1/roles/clerk/perms/users.view", &r), 0);
    assert_ptr_equal(r, &routes[R_PERM_DELETE]);
    assert_string_equal(rq.params[0], "clerk");
    assert_string_equal(rq.params[1], "users.view");

    /* Four parameters, the most a request holds. */
    assert_int_equal(route(&rq, "GET", "/four/a/b/c/d", &r), 0);
    assert_ptr_equal(r, &routes[R_FOUR]);
    assert_string_equal(rq.params[3], "d");

    /* Values are the raw segment: no decoding, any bytes but '/'. */
    assert_int_equal(route(&rq, "GET", "/admin/users/a%2Fb c", &r), 0);
    assert_string_equal(rq.params[0], "a%2Fb c");
}

/* The values live in the request, not in the path they came from. */
static void test_params_copied(void **state)
{
    char path[64];
    str_copy(path, "/admin/users/123/edit", sizeof path);
    struct req rq;
    const struct route *r;
    assert_int_equal(route(&rq, "GET", path, &r), 0);
    assert_ptr_equal(r, &routes[R_USER_EDIT_GET]);
    memset(path, 'x', sizeof path - 1);
    assert_string_equal(rq.params[0], "123");
    assert_ptr_equal(rq.params[0], rq.params_buf[0]);
}

static void test_params_refused(void **state)
{
    /* An empty segment is no value. */
    expect_status("GET", "/admin/users//edit", 404);
    /* A parameter never spans a '/'. */
    expect_status("GET", "/admin/users/1/2/edit", 404);
    /* Five parameters do not fit in rq->params. */
    expect_status("GET", "/many/1/2/3/4/5", 404);

    /* The longest segment that fits params_buf (255 bytes and the NUL). */
    char path[600];
    struct req rq;
    const struct route *r;
    size_t cap = sizeof rq.params_buf[0];
    strcpy(path, "/admin/users/");
    size_t at = strlen(path);
    memset(path + at, '9', cap - 1);
    path[at + cap - 1] = 0;
    assert_int_equal(route(&rq, "GET", path, &r), 0);
    assert_ptr_equal(r, &routes[R_USER]);
    assert_int_equal(strlen(rq.params[0]), cap - 1);
    /* One byte more is refused, never cut short. */
    memset(path + at, '9', cap);
    path[at + cap] = 0;
    expect_status("GET", path, 404);
    strcat(path, "/edit");
    expect_status("GET", path, 404);
}

static void test_404_and_405(void **state)
{
    /* Path known, method not: 405. */
    expect_status("DELETE", "/admin/users", 405);
    expect_status("PUT", "/admin/users/5/edit", 405);
    expect_status("GET", "/login", 405);
    expect_status("POST", "/", 405);
    /* Method names are case-sensitive (RFC 9110 9.1). */
    expect_status("get", "/admin/users", 405);
    /* Nothing at the path for any method: 404. */
    expect_status("GET", "/logout", 404);
    expect_status("POST", "/admin/users/5/delete", 404);
    expect_status("DELETE", "/api/v1/roles/clerk/perms", 404);
}

/* HEAD is answered by the GET route; without one it is 405. */
static void test_head(void **state)
{
    expect_route("HEAD", "/", R_ROOT);
    expect_route("HEAD", "/admin/users", R_USERS_GET);
    struct req rq;
    const struct route *r;
    assert_int_equal(route(&rq, "HEAD", "/admin/users/9/edit", &r), 0);
    assert_ptr_equal(r, &routes[R_USER_EDIT_GET]);
    assert_string_equal(rq.params[0], "9");
    expect_status("HEAD", "/login", 405);
    expect_status("HEAD", "/nothing", 404);
}

/* No trailing-slash folding: "/x/" and "/x" are different paths. */
static void test_trailing_slash(void **state)
{
    expect_status("GET", "/admin/users/", 404);
    expect_status("POST", "/admin/users/", 404);
    expect_status("GET", "/admin/users/5/", 404);
    expect_status("GET", "/admin/users/5/edit/", 404);
    expect_status("GET", "//", 404);
    expect_route("GET", "/", R_ROOT);
}

int main(void)
{
    router_add(routes, ARRAY_LEN(routes));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_paths),
        cmocka_unit_test(test_params_captured),
        cmocka_unit_test(test_params_copied),
        cmocka_unit_test(test_params_refused),
        cmocka_unit_test(test_404_and_405),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_trailing_slash),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
