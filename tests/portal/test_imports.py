"""CSV imports: file-level checks, per-row reports with line numbers, idempotent re-imports."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal import access, imports, services
from portal.models import Account, Customer, NorthStarMeasurement, Tier
from tests.factories import AccountFactory, CustomerFactory


def csv_file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def errors(report: imports.ImportReport) -> list[tuple[int, str]]:
    return [(error.line, error.message) for error in report.errors]


# Customers ---------------------------------------------------------------------------------

MIXED_CUSTOMERS = (
    "email,name,account\n"
    "ann@example.com,Ann,Acme\n"
    "not-an-address,Bad,Acme\n"
    "carl@example.com,Carl,Nowhere Ltd\n"
)


def test_customers_import_keeps_good_rows_and_reports_bad_ones_by_line(world):
    AccountFactory(name="Acme")
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(MIXED_CUSTOMERS))
    assert (report.created, report.updated, report.rows) == (1, 0, 3)
    assert errors(report) == [
        (3, services.EMAIL_INVALID.format(email="not-an-address")),
        (4, imports.UNKNOWN_ACCOUNT.format(name="Nowhere Ltd")),
    ]
    ann = Customer.objects.get()
    assert (ann.email, ann.name, ann.account.name) == ("ann@example.com", "Ann", "Acme")


def test_customers_import_report_as_dict(world):
    AccountFactory(name="Acme")
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(MIXED_CUSTOMERS))
    assert report.as_dict() == {
        "rows": 3,
        "created": 1,
        "updated": 0,
        "errors": [
            {"line": 3, "message": services.EMAIL_INVALID.format(email="not-an-address")},
            {"line": 4, "message": imports.UNKNOWN_ACCOUNT.format(name="Nowhere Ltd")},
        ],
    }


def test_customers_import_twice_updates_instead_of_duplicating(world):
    text = "email,name,tier\nann@example.com,Ann,vip\nbob@example.com,Bob,\n"
    first = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (first.created, first.updated, first.errors) == (2, 0, [])
    second = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file(text.replace("Ann,", "Ann Archer,"))
    )
    assert (second.created, second.updated, second.errors) == (0, 2, [])
    assert Customer.objects.count() == 2
    ann = Customer.objects.get(email="ann@example.com")
    assert (ann.name, ann.tier) == ("Ann Archer", Tier.VIP)


def test_customers_import_matches_an_existing_customer_whatever_the_case_of_the_address(world):
    CustomerFactory(email="ann@example.com", name="Old")
    report = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,name\nANN@Example.com,New\n")
    )
    assert (report.created, report.updated) == (0, 1)
    assert Customer.objects.get().name == "New"


def test_customers_import_matches_a_customer_by_a_further_address(world):
    customer = services.customer_create(
        actor=world.agent_a, email="ann@example.com", other_emails=["ann@home.test"]
    )
    report = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,name\nann@home.test,Ann\n")
    )
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    assert Customer.objects.get().pk == customer.pk


def test_customers_import_by_external_id_changes_the_address(world):
    imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,external_id\nold@example.com,c-1\n")
    )
    report = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,external_id\nnew@example.com,c-1\n")
    )
    assert (report.created, report.updated) == (0, 1)
    assert list(Customer.objects.values_list("email", "external_id")) == [
        ("new@example.com", "c-1")
    ]


def test_customers_import_with_a_new_external_id_updates_the_customer_with_that_address(world):
    CustomerFactory(email="ann@example.com")
    report = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,external_id\nann@example.com,c-9\n")
    )
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    assert Customer.objects.get().external_id == "c-9"


def test_customers_import_leaves_fields_of_missing_columns_alone(world):
    account = AccountFactory(name="Acme")
    CustomerFactory(email="ann@example.com", account=account, tier=Tier.VIP, external_id="c-1")
    report = imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,name\nann@example.com,Ann\n")
    )
    assert report.errors == []
    ann = Customer.objects.get()
    assert (ann.name, ann.account, ann.tier, ann.external_id) == ("Ann", account, "vip", "c-1")


def test_customers_import_turns_extra_columns_into_attributes(world):
    text = "Email,Name,Plan,Seats,Empty\nann@example.com,Ann,pro,12,\n"
    imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert Customer.objects.get().attributes == {"plan": "pro", "seats": "12"}
    imports.customers_import_csv(
        actor=world.agent_a, upload=csv_file("email,region\nann@example.com,EU\n")
    )
    assert Customer.objects.get().attributes == {"plan": "pro", "seats": "12", "region": "EU"}


def test_customers_import_sets_other_emails_from_a_list(world):
    text = 'email,other_emails\nann@example.com,"ann@home.test; ann@work.test"\n'
    imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    emails = [e.email for e in Customer.objects.get().other_emails.all()]
    assert emails == ["ann@home.test", "ann@work.test"]


def test_customers_import_reads_a_file_with_a_utf8_byte_order_mark(world):
    upload = csv_file("\ufeffemail,name\nzoe@example.com,Zoë\n")
    report = imports.customers_import_csv(actor=world.agent_a, upload=upload)
    assert (report.created, report.errors) == (1, [])
    assert Customer.objects.get().name == "Zoë"


def test_customers_import_refuses_a_latin1_file(world):
    with pytest.raises(ValidationError) as raised:
        imports.customers_import_csv(
            actor=world.agent_a, upload=csv_file("email,name\nzoe@example.com,Zoë\n", "latin-1")
        )
    assert raised.value.messages == [imports.FILE_NOT_UTF8]
    assert not Customer.objects.exists()


def test_customers_import_refuses_a_file_without_the_email_column(world):
    with pytest.raises(ValidationError) as raised:
        imports.customers_import_csv(
            actor=world.agent_a, upload=csv_file("name,account\nAnn,Acme\n")
        )
    assert raised.value.messages == [imports.MISSING_COLUMNS.format(columns="email")]


@pytest.mark.parametrize("text", ["", "\n\n", " , \n"])
def test_customers_import_refuses_an_empty_file(world, text):
    with pytest.raises(ValidationError) as raised:
        imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert raised.value.messages == [imports.FILE_EMPTY]


def test_customers_import_refuses_a_file_over_the_size_limit(world, settings):
    settings.PORTAL_CSV_MAX_BYTES = 1024 * 1024
    header = "email,name\n"
    row = "ann@example.com,Ann\n"
    text = header + row * ((settings.PORTAL_CSV_MAX_BYTES // len(row)) + 1)
    with pytest.raises(ValidationError) as raised:
        imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert raised.value.messages == [imports.FILE_TOO_LARGE.format(limit=1)]
    assert not Customer.objects.exists()


def test_customers_import_accepts_a_file_of_exactly_the_size_limit(world, settings):
    text = "email,name\nann@example.com,Ann\n"
    settings.PORTAL_CSV_MAX_BYTES = len(text.encode())
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert report.created == 1


def test_customers_import_has_no_row_cap_and_crosses_chunks(world, settings):
    # The row cap (PORTAL_CSV_MAX_ROWS, 2,000) is gone with background imports: a file of
    # more rows than two chunks is imported whole.
    rows = 2 * settings.PORTAL_IMPORT_CHUNK_ROWS + 1
    text = "email\n" + "".join(f"c{n}@example.com\n" for n in range(rows))
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.errors) == (rows, [])
    assert Customer.objects.count() == rows


def test_customers_import_reads_quoted_commas_and_newlines_and_numbers_rows_by_first_line(
    world,
):
    text = (
        "email,name,note\n"
        'ann@example.com,"Archer, Ann","likes\ncommas, and\nnewlines"\n'
        "broken,Bad,\n"
    )
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert report.created == 1
    assert errors(report) == [(5, services.EMAIL_INVALID.format(email="broken"))]
    ann = Customer.objects.get()
    assert ann.name == "Archer, Ann"
    assert ann.attributes == {"note": "likes\ncommas, and\nnewlines"}


def test_customers_import_reports_a_bad_multiline_row_at_its_first_line(world):
    text = 'email,note\nann@example.com,ok\n"bad\naddress",x\n'
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert errors(report) == [(3, services.EMAIL_INVALID.format(email="bad\naddress"))]


def test_customers_import_skips_blank_lines_but_counts_them_in_line_numbers(world):
    text = "email,name\n\nann@example.com,Ann\n , \n\nbroken,Bad\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.rows) == (1, 2)
    assert errors(report) == [(6, services.EMAIL_INVALID.format(email="broken"))]


def test_customers_import_reads_windows_line_endings(world):
    text = "email,name\r\nann@example.com,Ann\r\nbob@example.com,Bob\r\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.errors) == (2, [])


def test_customers_import_reports_a_duplicate_address_inside_the_file_as_an_update(world):
    text = "email,name\nann@example.com,Ann\nANN@example.com,Ann Again\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.updated) == (1, 1)
    assert Customer.objects.get().name == "Ann Again"


def test_customers_import_reports_an_invalid_tier(world):
    text = "email,tier\nann@example.com,gold\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert errors(report) == [(2, f"tier: {services.INVALID_TIER}")]


@pytest.mark.parametrize("persona", ["viewer_a", "outsider"])
def test_customers_import_refuses_a_viewer(world, persona):
    with pytest.raises(PermissionDenied) as raised:
        imports.customers_import_csv(
            actor=getattr(world, persona), upload=csv_file("email\nann@example.com\n")
        )
    assert str(raised.value) == access.NEEDS_DIRECTORY_EDITOR
    assert not Customer.objects.exists()


# Accounts ----------------------------------------------------------------------------------


def test_accounts_import_reads_mrr_owner_and_domains(world):
    text = (
        "name,external_id,domains,plan,segment,mrr,owner\n"
        'Acme,crm-1,"acme.com; acme.test",growth,Enterprise,"1,250.50",lead_a\n'
        "Globex,,globex.com,,smb,,lead_a@example.test\n"
    )
    report = imports.accounts_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.errors) == (2, [])
    acme = Account.objects.get(name="Acme")
    assert acme.mrr == Decimal("1250.50")
    assert (acme.owner, acme.segment, acme.plan, acme.external_id) == (
        world.lead_a,
        "enterprise",
        "growth",
        "crm-1",
    )
    assert list(acme.domains.values_list("domain", flat=True)) == ["acme.com", "acme.test"]
    globex = Account.objects.get(name="Globex")
    assert (globex.mrr, globex.owner) == (Decimal("0"), world.lead_a)


def test_accounts_import_reports_an_unknown_owner_and_a_bad_mrr(world):
    text = "name,mrr,owner\nAcme,10,ghost\nGlobex,lots,\nInitech,-5,\n"
    report = imports.accounts_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert report.created == 0
    assert errors(report) == [
        (2, imports.UNKNOWN_OWNER.format(owner="ghost")),
        (3, imports.INVALID_MRR.format(value="lots")),
        (4, f"mrr: {services.MRR_NEGATIVE}"),
    ]
    assert not Account.objects.exists()


def test_accounts_import_does_not_take_an_inactive_user_as_owner(world):
    world.lead_a.is_active = False
    world.lead_a.save()
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,owner\nAcme,lead_a\n")
    )
    assert errors(report) == [(2, imports.UNKNOWN_OWNER.format(owner="lead_a"))]


def test_accounts_import_reports_a_domain_of_another_account(world):
    owner = services.account_create(actor=world.agent_a, name="Acme", domains=["acme.com"])
    text = "name,domains\nImpostor,ACME.com\n"
    report = imports.accounts_import_csv(actor=world.agent_a, upload=csv_file(text))
    expected = services.DOMAIN_TAKEN.format(domain="acme.com", account=owner)
    assert errors(report) == [(2, f"domains: {expected}")]
    assert not Account.objects.filter(name="Impostor").exists()


def test_accounts_import_by_external_id_renames_instead_of_duplicating(world):
    imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,external_id,mrr\nAcme,crm-1,100\n")
    )
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,external_id,mrr\nAcme Holdings,crm-1,200\n")
    )
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    account = Account.objects.get()
    assert (account.name, account.mrr) == ("Acme Holdings", Decimal("200"))


def test_accounts_import_by_name_updates_whatever_the_case(world):
    AccountFactory(name="Acme", plan="growth")
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,plan\nACME,scale\n")
    )
    assert (report.created, report.updated) == (0, 1)
    assert Account.objects.get().plan == "scale"


def test_accounts_import_with_a_new_external_id_updates_the_account_with_that_name(world):
    AccountFactory(name="Acme")
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,external_id\nAcme,crm-7\n")
    )
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    assert Account.objects.get().external_id == "crm-7"


def test_accounts_import_without_a_domains_column_keeps_the_domains(world):
    services.account_create(
        actor=world.agent_a, name="Acme", domains=["acme.com"], mrr=100, plan="growth"
    )
    report = imports.accounts_import_csv(
        actor=world.agent_a, upload=csv_file("name,segment\nAcme,enterprise\n")
    )
    assert report.errors == []
    account = Account.objects.get()
    assert (account.segment, account.mrr, account.plan) == ("enterprise", Decimal("100"), "growth")
    assert list(account.domains.values_list("domain", flat=True)) == ["acme.com"]


def test_accounts_import_refuses_a_viewer(world):
    with pytest.raises(PermissionDenied):
        imports.accounts_import_csv(actor=world.viewer_a, upload=csv_file("name\nAcme\n"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.com; b.com", ["a.com", "b.com"]),
        ("a.com,b.com", ["a.com", "b.com"]),
        (" a.com  b.com ;", ["a.com", "b.com"]),
        ("", []),
    ],
)
def test_split_list_accepts_semicolons_commas_and_spaces(value, expected):
    assert imports.split_list(value) == expected


# North Star --------------------------------------------------------------------------------


@pytest.fixture
def north_star(world):
    return services.north_star_set(actor=world.superuser, name="Weekly active teams")


def test_north_star_import_upserts_one_value_per_day(world, north_star):
    text = "date,value,note\n2025-01-06,10,first\n2025-01-13,1 200.5,\n"
    first = imports.north_star_import_csv(actor=world.lead_a, upload=csv_file(text))
    assert (first.created, first.updated, first.errors) == (2, 0, [])
    again = "date,value,note\n2025-01-06,11,corrected\n"
    second = imports.north_star_import_csv(actor=world.lead_a, upload=csv_file(again))
    assert (second.created, second.updated) == (0, 1)
    values = dict(NorthStarMeasurement.objects.values_list("measured_on", "value"))
    assert values == {date(2025, 1, 6): Decimal("11"), date(2025, 1, 13): Decimal("1200.5")}


def test_north_star_import_reports_bad_dates_and_values(world, north_star):
    text = "date,value\n06/01/2025,1\n2025-02-30,1\n2025-01-06,abc\n2025-01-07,NaN\n"
    report = imports.north_star_import_csv(actor=world.lead_a, upload=csv_file(text))
    assert errors(report) == [
        (2, imports.INVALID_DATE.format(value="06/01/2025")),
        (3, imports.INVALID_DATE.format(value="2025-02-30")),
        (4, imports.INVALID_VALUE.format(value="abc")),
        (5, imports.INVALID_VALUE.format(value="NaN")),
    ]
    assert not NorthStarMeasurement.objects.exists()


def test_north_star_import_without_a_metric_reports_each_row(world):
    report = imports.north_star_import_csv(
        actor=world.lead_a, upload=csv_file("date,value\n2025-01-06,1\n")
    )
    assert errors(report) == [(2, services.NORTH_STAR_MISSING)]


def test_north_star_import_needs_date_and_value_columns(world, north_star):
    with pytest.raises(ValidationError) as raised:
        imports.north_star_import_csv(actor=world.lead_a, upload=csv_file("day,amount\nx,1\n"))
    assert raised.value.messages == [imports.MISSING_COLUMNS.format(columns="date, value")]


def test_north_star_import_refuses_an_agent(world, north_star):
    with pytest.raises(PermissionDenied) as raised:
        imports.north_star_import_csv(
            actor=world.agent_a, upload=csv_file("date,value\n2025-01-06,1\n")
        )
    assert str(raised.value) == access.NEEDS_ANY_LEAD


# Bad input in files (issue 7) ------------------------------------------------------------


def test_a_cell_longer_than_the_csv_modules_default_limit_is_read_and_reported(world):
    # 131,073 characters: one more than csv's default field limit, which answered 500.
    long_name = "x" * 131_073
    text = f"email,name\nann@example.com,Ann\nbob@example.com,{long_name}\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert report.created == 1
    assert [line for line, _message in errors(report)] == [3]


def test_a_row_with_a_nul_character_is_refused_alone(world):
    text = "email,name\nann@example.com,Ann\nbob@example.com,B\x00b\ncarl@example.com,Carl\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert report.created == 2
    assert errors(report) == [(3, imports.ROW_HAS_NUL)]
    assert not Customer.objects.filter(email="bob@example.com").exists()


def test_a_nul_character_in_a_free_attribute_is_refused_with_its_row(world):
    text = "email,plan\nann@example.com,gold\x00\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, errors(report)) == (0, [(2, imports.ROW_HAS_NUL)])


def test_a_repeated_column_is_refused_rather_than_the_last_one_kept(world):
    with pytest.raises(ValidationError) as raised:
        imports.customers_import_csv(
            actor=world.agent_a, upload=csv_file("email,name,Name\nann@example.com,A,B\n")
        )
    assert raised.value.messages == [imports.DUPLICATE_COLUMNS.format(columns="name")]
    assert not Customer.objects.exists()


def test_a_semicolon_separated_file_is_recognised(world):
    AccountFactory(name="Acme, Inc.")
    text = "email;name;account\nann@example.com;Ann;Acme, Inc.\n"
    report = imports.customers_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert (report.created, report.errors) == (1, [])
    assert Customer.objects.get().account.name == "Acme, Inc."


@pytest.mark.parametrize("mrr", ["1,25", "1,250", "12,5"])
def test_an_mrr_with_an_ambiguous_comma_is_refused_naming_the_column(world, mrr):
    text = f'name,mrr\nAcme,"{mrr}"\n'
    report = imports.accounts_import_csv(actor=world.agent_a, upload=csv_file(text))
    assert errors(report) == [(2, imports.AMBIGUOUS_NUMBER.format(column="mrr", value=mrr))]
    assert not Account.objects.exists()


def test_an_mrr_with_thousands_separators_and_decimals_is_read(world):
    imports.accounts_import_csv(actor=world.agent_a, upload=csv_file('name,mrr\nAcme,"1,250.50"\n'))
    assert Account.objects.get().mrr == Decimal("1250.50")


def test_a_north_star_value_with_a_comma_is_refused_not_multiplied(world):
    services.north_star_set(actor=world.superuser, name="Weekly active teams")
    text = 'date,value\n2025-01-06,"1,5"\n'
    report = imports.north_star_import_csv(actor=world.lead_a, upload=csv_file(text))
    assert errors(report) == [(2, imports.AMBIGUOUS_NUMBER.format(column="value", value="1,5"))]
    assert not NorthStarMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        (12, "12"),
        (None, ""),
        # A spreadsheet splitting on ";" (many European locales) starts a cell after it.
        ("Refund;=2+5", "Refund;'=2+5"),
        ("Bob;=cmd|' /C calc'!A0;", "Bob;'=cmd|' /C calc'!A0;"),
        ("=a;@b\t+c", "'=a;'@b\t'+c"),
        ("a; b;c", "a; b;c"),
    ],
)
def test_cells_that_would_start_a_formula_are_written_as_text(value, written):
    assert imports.safe_cell(value) == written


def test_write_csv_neutralises_every_cell_header_included():
    text = imports.write_csv(["=line"], [["=1+1", "ok"]])
    assert text == "'=line\r\n'=1+1,ok\r\n"
