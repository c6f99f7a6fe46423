import pytest


@pytest.mark.django_db
def test_unknown_page_answers_404_in_chinese(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_server_error_page_stands_alone():
    from django.template.loader import get_template

    html = get_template("500.html").render({})
    assert "系统暂时无法处理您的请求" in html and "{%" not in html
