"""Every page makes the browser ask for /favicon.ico: it must not be a logged 404."""


def test_the_favicon_request_is_answered_without_a_not_found(client, caplog):
    response = client.get("/favicon.ico")

    assert response.status_code == 204
    assert "Not Found" not in caplog.text
