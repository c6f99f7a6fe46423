import pytest


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_home_says_what_the_portal_does_in_chinese_with_the_three_links(client):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "建筑施工特种作业人员证书服务平台" in body
    assert '<html lang="zh-Hans">' in body
    for href in ('href="/accounts/register/"', 'href="/accounts/login/"', 'href="/verify/"'):
        assert href in body
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body


@pytest.mark.django_db
def test_language_switch_turns_the_page_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Construction Special Operations Certificate Portal" in body
    assert "Register" in body
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, follow=True)
    assert "注册账号" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/verify/"])
def test_a_browser_asking_for_english_meets_chinese_until_it_switches(client, path):
    """SPEC 6: Chinese by default, English available. The browser's Accept-Language is not
    the visitor's choice (a phone set to English, an office computer); the switch is."""
    asked = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
    response = client.get(path, **asked)
    assert '<html lang="zh-Hans">' in response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert "Cookie" in response["Vary"] and "Accept-Language" not in response["Vary"]

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    kept = switched.cookies["django_language"]
    assert kept.value == "en" and int(kept["max-age"]) >= 365 * 24 * 3600  # not a session's
    response = client.get(path, **asked)
    assert '<html lang="en">' in response.content.decode()
    assert response["Content-Language"] == "en"
    # Whatever the browser asks for, the choice stands; a cookie naming no language of the
    # portal's is ignored.
    assert '<html lang="en">' in client.get(path, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    client.cookies["django_language"] = "fr"
    assert '<html lang="zh-Hans">' in client.get(path, **asked).content.decode()


@pytest.mark.django_db
def test_pages_reference_no_external_host(client):
    body = client.get("/").content.decode()
    assert "cdn" not in body.lower()
    assert "<script" not in body
