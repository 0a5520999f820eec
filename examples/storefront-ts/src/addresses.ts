// The address book of a signed-in customer: add, list (paged), read, update, delete, and the
// one-default rule.

import type { SuccessResponseJSON } from "openapi-typescript-helpers";

import type { Customer } from "./auth.ts";
import { check, checkId, checkTime, equal, expectData, expectEmpty, expectProblem, step } from "./check.ts";
import type { Api, paths } from "./client.ts";

type ListAddresses = paths["/api/v1/me/addresses"]["get"];
type AddressQuery = NonNullable<ListAddresses["parameters"]["query"]>;
type AddressList = SuccessResponseJSON<ListAddresses>;
type Address = SuccessResponseJSON<paths["/api/v1/me/addresses/{id}"]["get"]>;

/** Every address of the customer, following `next_cursor` with one address per page. */
async function listAll(api: Api): Promise<Address[]> {
  const all: Address[] = [];
  let cursor: string | null = null;
  for (let page = 1; ; page += 1) {
    check(page <= 100, "more than 100 address pages; is next_cursor ever null?");
    const query: AddressQuery = cursor === null ? { limit: 1 } : { limit: 1, cursor };
    const list: AddressList = expectData(await api.GET("/api/v1/me/addresses", { params: { query } }), 200, `addresses page ${page}`);
    all.push(...list.items);
    cursor = list.next_cursor;
    if (cursor === null) return all;
  }
}

function defaults(addresses: Address[]): string[] {
  return addresses.filter((a) => a.is_default).map((a) => a.id);
}

export async function addressBook(customer: Customer): Promise<void> {
  const { api } = customer;
  let home: Address | undefined;
  let office: Address | undefined;

  await step("a new customer has no addresses", async () => {
    const list = expectData(await api.GET("/api/v1/me/addresses"), 200, "GET /me/addresses");
    equal(list.items.length, 0, "addresses of a new customer");
    equal(list.next_cursor, null, "next_cursor of an empty list");
  });

  await step("add a first address: it becomes the default", async () => {
    const answer = await api.POST("/api/v1/me/addresses", {
      body: {
        first_name: "Asha",
        last_name: "Rao",
        line1: "12 MG Road",
        line2: "Flat 4B",
        city: "Bengaluru",
        region: "KA",
        postal_code: "560001",
        country: "in",
      },
    });
    home = expectData(answer, 201, "POST /me/addresses");
    checkId(home.id, "addr", "address id");
    equal(home.country, "IN", "country is stored upper case");
    equal(home.line2, "Flat 4B", "line2");
    equal(home.phone, null, "phone (none given)");
    equal(home.is_default, true, "the first address is the default");
    checkTime(home.created_at, "created_at");
  });

  await step("add a second address as the default: the default moves", async () => {
    const answer = await api.POST("/api/v1/me/addresses", {
      body: {
        first_name: "Asha",
        last_name: "Rao",
        line1: "Prestige Tech Park",
        city: "Bengaluru",
        postal_code: "560103",
        country: "IN",
        phone: "+91 80 4000 0000",
        is_default: true,
      },
    });
    office = expectData(answer, 201, "second address");
    equal(office.is_default, true, "the new default");
    equal(office.line2, null, "line2 (none given)");
    check(home !== undefined, "no first address");
    const all = await listAll(api);
    equal(all.length, 2, "addresses listed one per page");
    equal(defaults(all).join(","), office.id, "exactly one default");
  });

  await step("read, update and clear fields of an address", async () => {
    check(home !== undefined, "no first address");
    const read = expectData(
      await api.GET("/api/v1/me/addresses/{id}", { params: { path: { id: home.id } } }),
      200,
      "GET /me/addresses/{id}",
    );
    equal(read.line1, home.line1, "read line1");
    const patched = expectData(
      await api.PATCH("/api/v1/me/addresses/{id}", {
        params: { path: { id: home.id } },
        body: { city: "Mysuru", postal_code: "570001", line2: null },
      }),
      200,
      "PATCH /me/addresses/{id}",
    );
    equal(patched.city, "Mysuru", "patched city");
    equal(patched.line2, null, "line2 cleared by null");
    equal(patched.region, "KA", "region kept");
    equal(patched.is_default, false, "still not the default");
    const invalid = await api.PATCH("/api/v1/me/addresses/{id}", {
      params: { path: { id: home.id } },
      body: { country: "India" },
    });
    const problem = expectProblem(invalid, 422, "validation_failed", "country that is not ISO 3166-1 alpha-2");
    check((problem.errors ?? []).some((e) => e.field === "country"), "422 names country in errors[]");
  });

  await step("delete the default: the remaining address becomes the default", async () => {
    check(home !== undefined && office !== undefined, "no addresses");
    const { id } = office;
    expectEmpty(await api.DELETE("/api/v1/me/addresses/{id}", { params: { path: { id } } }), 204, "DELETE");
    const gone = await api.GET("/api/v1/me/addresses/{id}", { params: { path: { id } } });
    expectProblem(gone, 404, "not_found", "a deleted address");
    const all = await listAll(api);
    equal(all.map((a) => a.id).join(","), home.id, "the remaining address");
    equal(defaults(all).join(","), home.id, "the remaining address is the default");
  });
}
