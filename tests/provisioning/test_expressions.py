"""Entra's expression language: every function, every documented quirk, every parse error with its column.

Expressions are pure computation (no server is involved), so they run in-process.
Expected values are the ones Microsoft's function reference documents wherever it
gives an example.
"""

from __future__ import annotations

import random
import string

import pytest

from simulator.clock import Clock
from simulator.provisioning.expressions import (FUNCTIONS, IGNORED, NULL, SWITCH_NULLED, ArgumentCountError, Environment,
                                                Expression, ExpressionEvaluationError, ExpressionSyntaxError,
                                                UnknownFunction)
from simulator.provisioning.expressions.functions import SPECIAL_CHARACTERS

FROZEN = "2026-01-15T09:00:00Z"


def env(seed: int = 7, **kwargs) -> Environment:
    return Environment(rng=random.Random(seed), clock=Clock.frozen_at(FROZEN), **kwargs)


def value(text: str, attributes: dict | None = None, environment: Environment | None = None):
    return Expression.parse(text).evaluate(attributes or {}, environment or env()).value


# The function list of Microsoft's reference (section 5 of our reference file), plus the
# Assertive variant of AppRoleAssignmentsComplex that "Customize application attributes" documents.
ENTRA_FUNCTIONS = {
    "Append", "AppRoleAssignmentsComplex", "BitAnd", "CBool", "CDate", "Coalesce", "ConvertToBase64", "ConvertToUTF8Hex",
    "Count", "CStr", "DateAdd", "DateDiff", "DateFromNum", "FormatDateTime", "Guid", "IgnoreFlowIfNullOrEmpty", "IIF",
    "InStr", "IsNull", "IsNullOrEmpty", "IsPresent", "IsString", "Item", "Join", "Left", "Mid", "NormalizeDiacritics",
    "Not", "Now", "NumFromDate", "PCase", "RandomString", "Redact", "RemoveDuplicates", "Replace", "SelectUniqueValue",
    "SingleAppRoleAssignment", "Split", "StripSpaces", "Switch", "ToLower", "ToUpper", "Word",
    "AssertiveAppRoleAssignmentsComplex",
}


def test_the_function_set_is_entras():
    assert set(FUNCTIONS) == ENTRA_FUNCTIONS


ROLES = [{"id": "r1", "value": "Admin", "displayName": "Administrator"}, {"id": "r2", "value": "User", "displayName": "User"}]

# (expression, source attributes, value sent to the target)
EVALUATIONS = [
    # Append
    ('Append([userPrincipalName], ".test")', {"userPrincipalName": "John.Doe@contoso.com"}, "John.Doe@contoso.com.test"),
    ('Append([givenName], [surname])', {"givenName": "Ann"}, "Ann"),
    # AppRoleAssignmentsComplex / Assertive / SingleAppRoleAssignment
    ("AppRoleAssignmentsComplex([appRoleAssignments])", {"appRoleAssignments": ROLES[:1]},
     [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "Administrator", "value": "Admin"}]),
    ("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", {"appRoleAssignments": ROLES},
     [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "Administrator", "value": "Admin"},
      {"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"}]),
    ("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": ROLES}, "Admin"),
    # BitAnd, with VBA hex literals as documented
    ("BitAnd(&HF, &HF7)", {}, "7"),
    ("BitAnd(12, 10)", {}, "8"),
    ('BitAnd([flags], "2")', {"flags": "514"}, "2"),
    # CBool: booleans leave as the strings True/False
    ('CBool([a] = [b])', {"a": "x", "b": "x"}, "True"),
    ('CBool([a] = [b])', {"a": "x", "b": "y"}, "False"),
    ("CBool(0)", {}, "False"),
    ("CBool(5)", {}, "True"),
    ('CBool("true")', {}, "True"),
    # CDate: UTC, M/d/yyyy h:mm:ss tt (the three documented examples)
    ("CDate([StatusHireDate])", {"StatusHireDate": "2020-03-16-07:00"}, "3/16/2020 7:00:00 AM"),
    ('CDate("2021-06-30+08:00")', {}, "6/29/2021 4:00:00 PM"),
    ('CDate("2009-06-15T01:45:30-07:00")', {}, "6/15/2009 8:45:30 AM"),
    ('CDate("7/2/2021 3:33:38 PM")', {}, "7/2/2021 3:33:38 PM"),
    # Coalesce: first non-null; "" is not null
    ("Coalesce([mail],[userPrincipalName])", {"userPrincipalName": "John.Doe@contoso.com"}, "John.Doe@contoso.com"),
    ('Coalesce([mail], [otherMail], "none@contoso.com")', {}, "none@contoso.com"),
    ('Coalesce([mail], "fallback")', {"mail": ""}, ""),
    # ConvertToBase64 (UTF-16LE, as documented) and ConvertToUTF8Hex
    ('ConvertToBase64("Hello world!")', {}, "SABlAGwAbABvACAAdwBvAHIAbABkACEA"),
    ('ConvertToUTF8Hex("Hello world!")', {}, "48656C6C6F20776F726C6421"),
    ('ConvertToUTF8Hex("é")', {}, "C3A9"),
    # Count
    ("Count([otherMails])", {"otherMails": ["a@x", "b@x", "c@x"]}, "3"),
    ("Count([otherMails])", {}, "0"),
    # CStr
    ("CStr([accountEnabled])", {"accountEnabled": True}, "True"),
    ("CStr(42)", {}, "42"),
    ('CStr([dn])', {"dn": "cn=Joe,dc=contoso,dc=com"}, "cn=Joe,dc=contoso,dc=com"),
    # DateAdd: the documented table
    ('DateAdd("d", 7, CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"}, "3/23/2012 7:00:00 AM"),
    ('DateAdd("d", -10, CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"}, "3/6/2012 7:00:00 AM"),
    ('DateAdd("ww", 2, CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"}, "3/30/2012 7:00:00 AM"),
    ('DateAdd("m", 10, CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"}, "1/16/2013 7:00:00 AM"),
    ('DateAdd("yyyy", 2, CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"}, "3/16/2014 7:00:00 AM"),
    ('DateAdd("h", 5, CDate("2024-01-31"))', {}, "1/31/2024 5:00:00 AM"),
    ('DateAdd("n", 90, CDate("2024-01-31"))', {}, "1/31/2024 1:30:00 AM"),
    ('DateAdd("s", 59, CDate("2024-01-31"))', {}, "1/31/2024 12:00:59 AM"),
    ('DateAdd("m", 1, CDate("2024-01-31"))', {}, "2/29/2024 12:00:00 AM"),
    # DateDiff: the documented table (VBA boundary counting)
    ('DateDiff("d", "2021-08-18+08:00", "2021-08-31+08:00")', {}, "13"),
    ('DateDiff("d", "8/25/2021 5:41:18 PM", CDate("2012-03-16-07:00"))', {}, "-3449"),
    ('DateDiff("ww", "8/25/2021 5:41:18 PM", CDate("2012-03-16-07:00"))', {}, "-493"),
    ('DateDiff("m", "8/25/2021 5:41:18 PM", CDate("2012-03-16-07:00"))', {}, "-113"),
    ('DateDiff("yyyy", "8/25/2021 5:41:18 PM", CDate("2012-03-16-07:00"))', {}, "-9"),
    ('DateDiff("d", "2021-08-31+08:00", "2021-08-31+08:00")', {}, "0"),
    ('DateDiff("h", "2021-08-24", "2021-08-25")', {}, "24"),
    ('DateDiff("n", "2021-08-24", "2021-08-25")', {}, "1440"),
    ('DateDiff("s", "2021-08-24", "2021-08-25")', {}, "86400"),
    ('DateDiff("d", Now(), CDate("2026-01-20"))', {}, "5"),
    # DateFromNum / NumFromDate (Active Directory file times)
    ("DateFromNum(129699324000000000)", {}, "1/1/2012 11:00:00 PM"),
    ("DateFromNum([lastLogonTimestamp])", {"lastLogonTimestamp": "129699324000000000"}, "1/1/2012 11:00:00 PM"),
    ('NumFromDate("2012-01-01T23:00:00Z")', {}, "129699324000000000"),
    ('NumFromDate(Join("", FormatDateTime([ContractEndDate], , "yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))',
     {"ContractEndDate": "2020-12-31-08:00"}, "132539615990000000"),
    # FormatDateTime: .NET formats, with and without dateTimeStyles, and the older three-argument form
    ('FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")', {"extensionAttribute1": "20150123105347.1Z"},
     "2015-01-23"),
    ('FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")', {"endDate": "6/15/2021 08:30:00 PM"}, "2021-06-15"),
    ('FormatDateTime([d], "AllowLeadingWhite", "yyyy-MM-dd", "dd MMM yyyy")', {"d": "  2021-06-15"}, "15 Jun 2021"),
    ('FormatDateTime([d], "yyyy-MM-dd", "dddd d MMMM yy")', {"d": "2021-06-15"}, "Tuesday 15 June 21"),
    ('FormatDateTime([d], , "yyyy-MM-ddTHH:mm:ss", "s")', {"d": "2021-06-15T20:05:09"}, "2021-06-15T20:05:09"),
    ('FormatDateTime(CDate("2021-06-15"), , "yyyy", "\'Year\' yyyy")', {}, "Year 2021"),
    # Guid: deterministic under a seed (shape checked here, reproducibility below)
    # IgnoreFlowIfNullOrEmpty passes present values through
    ("IgnoreFlowIfNullOrEmpty([department])", {"department": "Sales"}, "Sales"),
    # IIF with each comparison operator
    ('IIF([country]="USA",[country],[department])', {"country": "USA", "department": "Sales"}, "USA"),
    ('IIF([country]="USA",[country],[department])', {"country": "FR", "department": "Sales"}, "Sales"),
    ('IIF([country]<>"USA","abroad","home")', {"country": "FR"}, "abroad"),
    ('IIF([age]>"17","adult","minor")', {"age": "18"}, "adult"),
    ('IIF([age]>=18,"adult","minor")', {"age": "18"}, "adult"),
    ('IIF([age]<9,"single digit","more")', {"age": "10"}, "more"),
    ('IIF([age]<=10,"ten or less","more")', {"age": "10"}, "ten or less"),
    ('IIF([country]="usa","True","False")', {"country": "USA"}, "False"),
    ('IIF([country]="USA",IIF([state]="CA","True","False"),"False")', {"country": "USA", "state": "CA"}, "True"),
    ('IIF([country]="USA","True",IIF([state]="CA","True","False"))', {"country": "FR", "state": "CA"}, "True"),
    ('IIF(IsPresent([mail]), [mail], "x")', {"mail": "a@b.c"}, "a@b.c"),
    # InStr
    ('InStr("The quick brown fox","quick")', {}, "5"),
    ('InStr("repEated","e",3,vbBinaryCompare)', {}, "7"),
    ('InStr("repEated","e",3,vbTextCompare)', {}, "4"),
    ('InStr("abc","z")', {}, "0"),
    # IsNull, IsNullOrEmpty, IsPresent, IsString: "True"/"False"
    ("IsNull([displayName])", {}, "True"),
    ("IsNull([displayName])", {"displayName": ""}, "False"),
    ("IsNullOrEmpty([displayName])", {"displayName": ""}, "True"),
    ("IsNullOrEmpty([displayName])", {"displayName": "Ann"}, "False"),
    ("IsPresent([displayName])", {"displayName": "Ann"}, "True"),
    ("IsPresent([displayName])", {"displayName": ""}, "False"),
    ("IsString([displayName])", {"displayName": "Ann"}, "True"),
    ("IsString([accountEnabled])", {"accountEnabled": True}, "False"),
    ("IsString(5)", {}, "False"),
    # Item: 1-based
    ("Item([proxyAddresses], 1)", {"proxyAddresses": ["SMTP:a@x", "smtp:b@x"]}, "SMTP:a@x"),
    ("Item([proxyAddresses], 2)", {"proxyAddresses": ["SMTP:a@x", "smtp:b@x"]}, "smtp:b@x"),
    # Join: multi-values expanded, null and empty values skipped
    ('Join(" ", [givenName], [surname])', {"givenName": "John", "surname": "Doe"}, "John Doe"),
    ('Join(", ", "", [surname], [givenName])', {"givenName": "John", "surname": "Doe"}, "Doe, John"),
    ('Join(";", [otherMails], [mail])', {"otherMails": ["a@x", "b@x"], "mail": "c@x"}, "a@x;b@x;c@x"),
    ('Join(" ", [givenName], [surname])', {"surname": "Doe"}, "Doe"),
    ('Join("", 1000, 7)', {}, "10007"),
    # Left: 0 -> "", negative -> input, null -> "", longer than the string -> the string
    ('Left("John Doe", 3)', {}, "Joh"),
    ('Left("John Doe", 0)', {}, ""),
    ('Left("John Doe", -1)', {}, "John Doe"),
    ("Left([missing], 3)", {}, ""),
    ('Left("Jo", 5)', {}, "Jo"),
    # Mid: 1-based, runs past the end to the rest of the string
    ("Mid([preferredLanguage], 1, 2)", {"preferredLanguage": "fr-FR"}, "fr"),
    ("Mid([preferredLanguage], 4, 2)", {"preferredLanguage": "fr-FR"}, "FR"),
    ("Mid([preferredLanguage], 4, 99)", {"preferredLanguage": "fr-FR"}, "FR"),
    ("Mid([preferredLanguage], 9, 2)", {"preferredLanguage": "fr-FR"}, ""),
    ('Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))', {"givenName": "John", "surname": "Doe"}, "JohDoe"),
    # NormalizeDiacritics
    ("NormalizeDiacritics([givenName])", {"givenName": "Zoë"}, "Zoe"),
    ('NormalizeDiacritics("Łukasz Ærø Straße Ğüneş İpek Þór")', {}, "Lukasz AEroe Strasse Gunes Ipek Þor"),
    ('NormalizeDiacritics("ガギ")', {}, "ガギ"),
    # Not flips "True"/"False"
    ('Not("True")', {}, "False"),
    ('Not("False")', {}, "True"),
    ("Not([accountEnabled])", {"accountEnabled": True}, "False"),
    ("Not(IsPresent([mail]))", {}, "True"),
    # Now: the injected clock, in Entra's date format
    ("Now()", {}, "1/15/2026 9:00:00 AM"),
    # PCase: the documented examples
    ("PCase([firstName])", {"firstName": "PABLO GONSALVES (SECOND)"}, "Pablo Gonsalves (Second)"),
    ("PCase([lastName],\" '-\")", {"lastName": "PINTO-DE'SILVA"}, "Pinto-De'Silva"),
    ('PCase(Join(" ",[firstName],[lastName]))', {"firstName": "GREGORY", "lastName": "JAMES"}, "Gregory James"),
    ('PCase("o\'NEIL mcdonald-SMITH")', {}, "O'neil Mcdonald-Smith"),
    # Redact passes the value through
    ("Redact([userPrincipalName])", {"userPrincipalName": "a@contoso.com"}, "a@contoso.com"),
    # RemoveDuplicates
    ("RemoveDuplicates([proxyAddresses])", {"proxyAddresses": ["a", "b", "a", "c", "b"]}, ["a", "b", "c"]),
    # Replace: every documented mode
    ('Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )', {"BusinessTitle": "Product Developer"},
     "Software Engineer"),
    ('Replace([UserID],"<username>", , , , , "<username>@contoso.com")', {"UserID": "jsmith"}, "jsmith@contoso.com"),
    (r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )',
     {"telephoneNumber": "+91 9998887777"}, "9998887777"),
    (r'Replace([mobile], , "[()\\s-]+", , "", , )', {"mobile": "1 (999) 888-7777"}, "19998887777"),
    (r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )',
     {"AddressLineData": "545 Tremont Street"}, "888 Tremont Street"),
    ('Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )', {"userPrincipalName": "jsmith@contoso.com"},
     "jsmith"),
    (r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )',
     {"telephoneNumber": "", "mobile": "+91 8887779999"}, "8887779999"),
    (r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )',
     {"telephoneNumber": "+1 5551234567", "mobile": "+91 8887779999"}, "+1 5551234567"),
    ('Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', {"mailNickname": "john_doe72"}, "72"),
    ('Replace([mail], "@contoso.com", , ,"", ,)', {"mail": "john.doe@contoso.com"}, "john.doe"),
    (r'Replace([x], , "(\\w+)@(\\w+)", , "$2 at $1 ($$, $&)", , )', {"x": "ann@contoso"}, "contoso at ann ($, ann@contoso)"),
    # SelectUniqueValue is tested with a uniqueness check below
    # Split
    ('Split([extensionAttribute5], ",")', {"extensionAttribute5": "PermissionSetOne,PermissionSetTwo"},
     ["PermissionSetOne", "PermissionSetTwo"]),
    # StripSpaces
    ('StripSpaces(" a b  c ")', {}, "abc"),
    # Switch: case-sensitive, "" key for empty, the IsSoftDeleted default mapping with its empty default
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', {"IsSoftDeleted": False}, "True"),
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', {"IsSoftDeleted": True}, "False"),
    ('Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")',
     {"state": "QLD"}, "Australia/Brisbane"),
    ('Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane")', {"state": "qld"},
     "Australia/Sydney"),
    ('Switch([country],[country],"","Other")', {}, "Other"),
    ('Switch([country],[country],"","Other")', {"country": ""}, "Other"),
    ('Switch([country],[country],"","Other")', {"country": "FR"}, "FR"),
    ('Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', {"statusFlag": "TRUE"}, "1"),
    ('Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")',
     {"Active": "1", "StatusHireDate": "2026-01-18"}, "True"),
    # ToLower / ToUpper, invariant by default, Turkish dotted and dotless i with tr-TR
    ('ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"))',
     {"PreferredFirstName": "John", "PreferredLastName": "Smith"}, "john.smith@contoso.com"),
    ('ToUpper("straße")', {}, "STRAßE"),
    ('ToUpper("istanbul", "tr-TR")', {}, "İSTANBUL"),
    ('ToLower("ISTANBUL", "tr-TR")', {}, "ıstanbul"),
    ('ToLower("ISTANBUL", "en-US")', {}, "istanbul"),
    # Word
    ('Word("The quick brown fox",3," ")', {}, "brown"),
    ('Word("This,string!has&many separators",3,",!&#")', {}, "has"),
    ('Word("The quick",0," ")', {}, ""),
    ('Word("The quick",5," ")', {}, ""),
    ('Word([missing],1," ")', {}, ""),
    # Literals, escapes and layout
    (r'"Company name: \"Contoso\""', {}, 'Company name: "Contoso"'),
    (r'"C:\\temp"', {}, "C:\\temp"),
    ('""', {}, ""),
    ("[mail]", {"mail": "a@b.c"}, "a@b.c"),
    ("[accountEnabled]", {"accountEnabled": False}, "False"),
    ("42", {}, "42"),
    ("Join(\n  \" \",\n  [givenName],\n  [surname]\n)", {"givenName": "A", "surname": "B"}, "A B"),
]


@pytest.mark.parametrize("text, attributes, expected", EVALUATIONS, ids=[e[0][:60] for e in EVALUATIONS])
def test_function_values(text, attributes, expected):
    assert value(text, attributes) == expected


def test_every_function_is_exercised_by_the_tables():
    used = set()
    for text in [e[0] for e in EVALUATIONS] + [e[0] for e in NO_VALUES] + [e[0] for e in EVALUATION_ERRORS]:
        used.update(Expression.parse(text).functions)
    assert ENTRA_FUNCTIONS - used <= {"Guid", "RandomString", "SelectUniqueValue"}  # tested on their own below


# (expression, attributes, NoValue): null is never provisioned; the caller can see why
NO_VALUES = [
    ("[mail]", {}, NULL),
    ("Mid([preferredLanguage], 1, 2)", {}, NULL),
    ('Append([missing], ".test")', {}, NULL),
    ('Join(" ", [givenName], [surname])', {}, NULL),
    ("Coalesce([mail], [otherMail])", {}, NULL),
    ('Switch([department], , "Sales", "S")', {"department": "HR"}, NULL),
    ("Item([proxyAddresses], 3)", {"proxyAddresses": ["a"]}, NULL),
    ("CDate([hire])", {}, NULL),
    ('DateAdd("d", 1, [hire])', {}, NULL),
    ('DateDiff("d", [hire], Now())', {}, NULL),
    ("NumFromDate([hire])", {}, NULL),
    ('FormatDateTime([hire], , "yyyy", "yy")', {}, NULL),
    ("DateFromNum([lastLogon])", {}, NULL),
    ("ToLower([x])", {}, NULL),
    ("ToUpper([x])", {}, NULL),
    ("PCase([x])", {}, NULL),
    ("StripSpaces([x])", {}, NULL),
    ("NormalizeDiacritics([x])", {}, NULL),
    ("ConvertToBase64([x])", {}, NULL),
    ("ConvertToUTF8Hex([x])", {}, NULL),
    ('Split([x], ",")', {}, NULL),
    ('InStr([x], "a")', {}, NULL),
    ("CStr([x])", {}, NULL),
    ("RemoveDuplicates([x])", {}, NULL),
    ("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": []}, NULL),
    ("AppRoleAssignmentsComplex([appRoleAssignments])", {}, NULL),
    ('Replace([x], "a", , , "b", , )', {}, NULL),
    ('Replace([x], "a", , , , , "<a>")', {}, NULL),
    ('Replace([x], , "a", , "b", , )', {}, NULL),
    ('Replace([x], , "(?<g>a)", "g", "b", , )', {}, NULL),
    ('Replace([x], , "(?<g>\\\\d+)", "g", , [y], )', {"y": "no digits"}, NULL),
    ("Redact([x])", {}, NULL),
    ("IgnoreFlowIfNullOrEmpty([department])", {}, IGNORED),
    ("IgnoreFlowIfNullOrEmpty([department])", {"department": ""}, IGNORED),
    ('IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))', {"prefix": "1"}, IGNORED),
    ('Join(",", IgnoreFlowIfNullOrEmpty([a]), "x")', {}, IGNORED),
]


@pytest.mark.parametrize("text, attributes, expected", NO_VALUES, ids=[e[0][:60] for e in NO_VALUES])
def test_null_results_are_not_provisioned(text, attributes, expected):
    result = Expression.parse(text).evaluate(attributes, env())
    assert result.value is expected
    assert not result.provisioned


# (expression, attributes, message fragment, function named by the error)
EVALUATION_ERRORS = [
    ('IIF([country]="USA","US","Other")', {}, "reads [country], which is null or empty", "IIF"),
    ('IIF([country]="","Other",[country])', {"country": ""}, "reads [country], which is null or empty", "IIF"),
    ('IIF(IsNullOrEmpty([country]),"Other",[country])', {}, "reads [country]", "IIF"),
    ('IIF(IsPresent([country]),[country],"Other")', {}, "reads [country]", "IIF"),
    ('IIF([country], "a", "b")', {"country": "USA"}, "the condition must be True or False, got 'USA'", "IIF"),
    ("Mid([x], 0, 2)", {"x": "abc"}, "start is 1-based and must be 1 or more, got 0", "Mid"),
    ("Mid([x], 1, -2)", {"x": "abc"}, "length must be 0 or more", "Mid"),
    ('Mid([x], "one", 2)', {"x": "abc"}, "start must be a whole number, got 'one'", "Mid"),
    ("Item([proxyAddresses], 0)", {"proxyAddresses": ["a"]}, "index is 1-based", "Item"),
    ('CDate("not a date")', {}, "'not a date' is not a date and time CDate can read", "CDate"),
    ('CDate("2021-02-30")', {}, "is not a valid date", "CDate"),
    ('DateAdd("q", 1, Now())', {}, "interval must be one of yyyy, m, d, ww, h, n, s", "DateAdd"),
    ('DateDiff("days", Now(), Now())', {}, "interval must be one of", "DateDiff"),
    ('FormatDateTime([d], , "yyyy-MM-dd", "yyyy")', {"d": "15/06/2021"}, "does not match the date format 'yyyy-MM-dd'",
     "FormatDateTime"),
    ('FormatDateTime([d], "AssumeNothing", "yyyy", "yyyy")', {"d": "2021"}, "unknown dateTimeStyles AssumeNothing",
     "FormatDateTime"),
    ('FormatDateTime([d], , "yyyy", "q")', {"d": "2021"}, "'q' is not a .NET standard date format", "FormatDateTime"),
    ("BitAnd([x], 1)", {}, "value1 must be a number, got null", "BitAnd"),
    ('CBool("maybe")', {}, "'maybe' is neither a number nor True/False", "CBool"),
    ('Split([x], "")', {"x": "a"}, "the delimiter is empty", "Split"),
    ('ToLower([x], [culture])', {"x": "A", "culture": "not a culture!"}, "is not a culture name", "ToLower"),
    ('InStr("abc", "b", 1, 7)', {}, "compareType must be vbBinaryCompare or vbTextCompare", "InStr"),
    ('InStr("abc", "b", 0)', {}, "start is 1-based", "InStr"),
    ("Left([x], [n])", {"x": "abc"}, "NumChars must be a number, got null", "Left"),
    ("RandomString(300, 1, 1, 1, 1)", {}, "Length must be between 1 and 256", "RandomString"),
    ("RandomString(4, 2, 2, 2, 0)", {}, "the minimum counts add up to 6, more than Length 4", "RandomString"),
    ('RandomString(4, 1, 0, 0, 0, "0123456789")', {}, "CharactersToAvoid leaves no numbers", "RandomString"),
    ("Join(\",\", Mid([otherMails], 1, 1))", {"otherMails": ["a", "b"]}, "expected a single value, got a multi-valued", "Mid"),
    ('Replace([x], , [pattern], , "", , )', {"x": "a", "pattern": "("}, "invalid regular expression", "Replace"),
    ('SelectUniqueValue([a], [b])', {"a": "x", "b": "y"}, "only for provisioning to Active Directory",
     "SelectUniqueValue"),
]


@pytest.mark.parametrize("text, attributes, fragment, function", EVALUATION_ERRORS, ids=[e[0][:60] for e in EVALUATION_ERRORS])
def test_evaluation_errors(text, attributes, fragment, function):
    with pytest.raises(ExpressionEvaluationError) as caught:
        Expression.parse(text).evaluate(attributes, env())
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{function}: ")
    assert caught.value.function == function
    assert caught.value.expression == text


def test_evaluation_errors_are_not_syntax_errors():
    """The cycle engine catches one (a failed entry), the job loader the other (a refused file)."""
    assert not issubclass(ExpressionEvaluationError, ExpressionSyntaxError)
    assert not issubclass(ExpressionSyntaxError, ExpressionEvaluationError)


# (expression, message, column)
PARSE_ERRORS = [
    ("Mid([preferredLanguage], 1", "expected ',' or ')' at column 27 (found end of expression)", 27),
    ("Mid([preferredLanguage], 1 2)", "expected ',' or ')' at column 28 (found number 2)", 28),
    ("Mid([preferredLanguage] 1, 2)", "expected ',' or ')' at column 25 (found number 1)", 25),
    ("", "expected a function call, an [attribute], a \"string\" or a number at column 1 (found end of expression)", 1),
    ("Mid", "expected '(' after function name 'Mid' at column 4 (found end of expression)", 4),
    ("Mid([x], 1, 2))", "expected end of expression at column 15 (found ')')", 15),
    ("[mail] [surname]", "expected end of expression at column 8 (found attribute [surname])", 8),
    ("Join(\",\" [a])", "expected ',' or ')' at column 10 (found attribute [a])", 10),
    ('"unterminated', "unterminated string: expected a closing '\"' at column 1", 1),
    ('Append([a], "ends with backslash\\")', "unterminated string: expected a closing '\"' at column 13", 13),
    ("Append([mail, \"x\")", "unterminated attribute name: expected ']' at column 8", 8),
    ("Append([], \"x\")", "empty attribute name: expected a name between '[' and ']' at column 8", 8),
    ("Append([ mail ], \"x\")", "attribute name ' mail ' has leading or trailing spaces at column 8", 8),
    ("Append([mail]; \"x\")", "unexpected character ';' at column 14", 14),
    ("Append([mail], x)", "unknown name 'x': expected a function call, an [attribute], a \"string\" or a number at column 16", 16),
    ("BitAnd(&H, 1)", "expected hexadecimal digits after '&H' at column 10", 10),
    ("Left([a], 3x)", "'3x' is not a number at column 11", 11),
    ('IIF([a]="x" And [b]="y", "1", "0")', "expected ',' or ')' at column 13 (found name 'And'): Entra's expressions have no AND "
                                          "operator; nest IIF calls instead", 13),
    ('IIF([a]="x" Or [b]="y", "1", "0")', "have no OR operator", 13),
    ('IIF([a]="x"="y", "1", "0")', "unexpected second comparison operator '=' at column 12: a condition holds a single "
                                   "comparison; nest IIF calls to combine conditions", 12),
    ('IIF([a]=, "1", "0")', "expected a value to compare after '=' at column 9 (found ',')", 9),
    ("Join(\n  \" \",\n  [givenName]\n", "expected ',' or ')' at line 4, column 1 (found end of expression)", 1),
    ('Replace([a], "x", "y", , , , )', "Replace takes oldValue or regexPattern, not both at column 1", 1),
    ('Replace([a], "x", , , , , )', "Replace needs oldValue with replacementValue or template", 1),
    ('Replace([a], , "(", , "", , )', "Replace: invalid regular expression", 16),
    ('Replace([a], , "(?<x>a)", "y", "", , )', "Replace: the regular expression has no group named 'y' at column 27", 27),
    ('Join(",", SelectUniqueValue("a", "b"))', "SelectUniqueValue must be the outermost function of the expression; "
                                              "it cannot be nested at column 11", 11),
    ('ToLower([a], "not a culture!")', "ToLower: 'not a culture!' is not a culture name such as en-US or tr-TR at column 14", 14),
]


@pytest.mark.parametrize("text, message, column", PARSE_ERRORS, ids=[e[0][:60] or "empty" for e in PARSE_ERRORS])
def test_parse_errors_say_where_and_what_was_expected(text, message, column):
    with pytest.raises(ExpressionSyntaxError) as caught:
        Expression.parse(text)
    assert message in str(caught.value)
    assert caught.value.column == column


# (expression, function named, message)
CALL_ERRORS = [
    ("mid([x], 1, 2)", UnknownFunction, "unknown function 'mid' (did you mean 'Mid'?) at column 1"),
    ("Join(\",\", Foo([x]))", UnknownFunction, "unknown function 'Foo' at column 11"),
    ("Coalese([a], [b])", UnknownFunction, "unknown function 'Coalese' (did you mean 'Coalesce'?) at column 1"),
    ("Mid([x], 1)", ArgumentCountError, "Mid takes 3 arguments (source, start, length), got 2 arguments at column 1"),
    ("Mid([x], 1, 2, 3)", ArgumentCountError, "Mid takes 3 arguments (source, start, length), got 4 arguments"),
    ("Guid(1)", ArgumentCountError, "Guid takes no arguments, got 1 argument"),
    ("Now([x])", ArgumentCountError, "Now takes no arguments, got 1 argument"),
    ("ToLower()", ArgumentCountError, "ToLower takes 1 or 2 arguments (source, culture), got 0 arguments"),
    ("InStr([a])", ArgumentCountError, "InStr takes 2 to 4 arguments (value1, value2, start, compareType), got 1 argument"),
    ("Join(\",\")", ArgumentCountError, "Join takes at least 2 arguments (separator, source1, source2, ...), got 1 argument"),
    ('Switch([a], "d", "k")', ArgumentCountError,
     "Switch takes an even number of arguments, at least 4 (source, defaultValue, key1, value1, ...), got 3 arguments"),
    ('Switch([a], "d", "k", "v", "k2")', ArgumentCountError, "Switch takes an even number of arguments"),
    ("Replace([a], \"x\", , , \"y\")", ArgumentCountError,
     "Replace takes 7 arguments (source, oldValue, regexPattern, regexGroupName, replacementValue, "
     "replacementAttributeName, template), got 5 arguments"),
    ("RandomString(1, 1, 1, 1)", ArgumentCountError, "RandomString takes 5 or 6 arguments"),
    ("SelectUniqueValue([a])", ArgumentCountError, "SelectUniqueValue takes at least 2 arguments"),
    ("Left([x], 1, 2)", ArgumentCountError, "Left takes 2 arguments (String, NumChars), got 3 arguments"),
]


@pytest.mark.parametrize("text, error_class, message", CALL_ERRORS, ids=[e[0] for e in CALL_ERRORS])
def test_unknown_functions_and_argument_counts(text, error_class, message):
    with pytest.raises(error_class) as caught:
        Expression.parse(text)
    assert message in str(caught.value)
    name = text.split("(")[0] if error_class is ArgumentCountError else None
    if name:
        assert caught.value.name == name


def test_expressions_longer_than_entras_limit_are_refused():
    text = 'Join(" ", ' + ", ".join(["[givenName]"] * 750) + ")"
    assert len(text) <= 10_000 and Expression.parse(text)
    too_long = '"' + "x" * 10_000 + '"'
    with pytest.raises(ExpressionSyntaxError, match="at most 10000"):
        Expression.parse(too_long)


def test_nesting_is_bounded():
    deep = "ToLower(" * 101 + "[a]" + ")" * 101
    with pytest.raises(ExpressionSyntaxError, match="nested more than 100 deep"):
        Expression.parse(deep)
    assert Expression.parse("ToLower(" * 100 + "[a]" + ")" * 100).value({"a": "X"}) == "x"


def test_expression_lists_the_attributes_and_functions_it_uses():
    expression = Expression.parse('IIF([country]="USA", Join(" ", [givenName], [surname]), [department])')
    assert expression.attributes == {"country", "givenName", "surname", "department"}
    assert expression.functions == ("IIF", "Join")


# ------------------------------------------------------------------ deterministic generated values


def test_guid_is_reproducible_from_the_seed():
    guid = Expression.parse("Guid()")
    first = [guid.value({}, env(seed=11)) for _ in range(1)]
    environment = env(seed=11)
    again = [guid.value({}, environment), guid.value({}, environment)]
    assert again[0] == first[0]
    assert again[0] != again[1]
    assert guid.value({}, env(seed=12)) != first[0]
    assert len(first[0]) == 36 and first[0][14] == "4"


def test_random_string_honours_minimums_and_exclusions_and_the_seed():
    expression = Expression.parse('RandomString(10,2,2,2,1,"?,")')
    produced = expression.value({}, env(seed=3))
    assert produced == expression.value({}, env(seed=3))
    assert len(produced) == 10
    assert sum(c.isdigit() for c in produced) >= 2
    assert sum(c in SPECIAL_CHARACTERS for c in produced) >= 2
    assert sum(c.isupper() for c in produced) >= 2
    assert sum(c.islower() for c in produced) >= 1
    assert "?" not in produced and "," not in produced
    exact = Expression.parse("RandomString(6,3,0,0,3)").value({}, env(seed=5))
    assert sorted(c in string.digits for c in exact) == [False] * 3 + [True] * 3
    assert all(c in string.digits + string.ascii_lowercase for c in exact)


def test_now_reads_the_injected_clock():
    clock = Clock.frozen_at("2030-12-31T23:59:58Z")
    environment = Environment(clock=clock)
    now = Expression.parse("Now()")
    assert now.value({}, environment) == "12/31/2030 11:59:58 PM"
    clock.advance(2)
    assert now.value({}, environment) == "1/1/2031 12:00:00 AM"


# ------------------------------------------------------------------ flow behaviours


def test_redact_marks_the_value_for_logs_only():
    result = Expression.parse("Redact([userPrincipalName])").evaluate({"userPrincipalName": "a@contoso.com"})
    assert result.value == "a@contoso.com"
    assert result.redacted and result.log_value == "[Redact]"
    plain = Expression.parse("[userPrincipalName]").evaluate({"userPrincipalName": "a@contoso.com"})
    assert not plain.redacted and plain.log_value == "a@contoso.com"


def test_select_unique_value_returns_the_first_value_free_in_the_target():
    taken = {"John.Smith@contoso.com", "J.Smith@contoso.com"}
    environment = env(unique_value_check=lambda candidate: candidate not in taken)
    expression = Expression.parse(
        'SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), '
        'Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"), '
        'Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com"))')
    person = {"PreferredFirstName": "John", "PreferredLastName": "Smith"}
    assert expression.value(person, environment) == "Jo.Smith@contoso.com"
    taken.add("Jo.Smith@contoso.com")
    with pytest.raises(ExpressionEvaluationError, match="every generated value already exists in the target"):
        expression.value(person, environment)


def test_switch_null_hazard_is_an_optional_fault():
    """Entra documents that a Switch whose source did not change can evaluate to null; off unless asked for."""
    expression = Expression.parse('Switch([companyName], "External", "Company A", "A", "Company B", "B")')
    user = {"companyName": "Company A", "displayName": "Ann"}
    faulty = env(switch_nulls_unchanged_source=True)
    assert expression.evaluate(user, env(), changed={"displayName"}).value == "A"
    assert expression.evaluate(user, faulty, changed={"displayName"}).value is SWITCH_NULLED
    assert expression.evaluate(user, faulty, changed={"companyName"}).value == "A"
    assert expression.evaluate(user, faulty).value == "A"  # no change set: an initial cycle


def test_iif_is_the_documented_workaround_for_the_switch_hazard():
    expression = Expression.parse('IIF([companyName] = "Company A", "A", IIF([companyName] = "Company B", "B", "External"))')
    faulty = env(switch_nulls_unchanged_source=True)
    assert expression.evaluate({"companyName": "Company B"}, faulty, changed={"displayName"}).value == "B"


def test_an_evaluation_reads_attributes_through_any_lookup():
    reads = []

    def lookup(name):
        reads.append(name)
        return {"givenName": "Ann"}.get(name)

    assert Expression.parse('Coalesce([mail], [givenName], [surname])').value(lookup) == "Ann"
    assert reads == ["mail", "givenName"]  # Coalesce stops at the first value
