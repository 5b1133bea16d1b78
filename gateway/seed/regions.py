"""The 34 provinces of Indonesia in 2020 and their 514 regencies and cities (kabupaten/kota).

Codes are the BPS (Statistics Indonesia) codes that also open every NIK. Within a province
the two last digits of a regency code tell its kind: ``01``-``69`` is a kabupaten, ``71`` and
above a kota. Names are those in force in 2020 (Toba, Pasangkayu and Kepulauan Tanimbar had
just been renamed from Toba Samosir, Mamuju Utara and Maluku Tenggara Barat).

Populations (2020 census, millions) weight where the demo's participants live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.enums import RegencyKind


@dataclass(frozen=True, slots=True)
class Regency:
    code: str  # 4 digits: province code + 2
    name: str  # with its kind, as people say it: "Kabupaten Bogor", "Kota Bogor"
    kind: RegencyKind


@dataclass(frozen=True, slots=True)
class Province:
    code: str  # 2 digits
    name: str
    population_millions: float
    regencies: tuple[Regency, ...]


# (code, name, population in millions, "suffix name; suffix name; ...")
_SOURCE: Final[tuple[tuple[str, str, float, str], ...]] = (
    (
        "11",
        "Aceh",
        5.27,
        "01 Simeulue; 02 Aceh Singkil; 03 Aceh Selatan; 04 Aceh Tenggara; 05 Aceh Timur; "
        "06 Aceh Tengah; 07 Aceh Barat; 08 Aceh Besar; 09 Pidie; 10 Bireuen; 11 Aceh Utara; "
        "12 Aceh Barat Daya; 13 Gayo Lues; 14 Aceh Tamiang; 15 Nagan Raya; 16 Aceh Jaya; "
        "17 Bener Meriah; 18 Pidie Jaya; 71 Banda Aceh; 72 Sabang; 73 Langsa; "
        "74 Lhokseumawe; 75 Subulussalam",
    ),
    (
        "12",
        "Sumatera Utara",
        14.80,
        "01 Nias; 02 Mandailing Natal; 03 Tapanuli Selatan; 04 Tapanuli Tengah; "
        "05 Tapanuli Utara; 06 Toba; 07 Labuhanbatu; 08 Asahan; 09 Simalungun; 10 Dairi; "
        "11 Karo; 12 Deli Serdang; 13 Langkat; 14 Nias Selatan; 15 Humbang Hasundutan; "
        "16 Pakpak Bharat; 17 Samosir; 18 Serdang Bedagai; 19 Batu Bara; "
        "20 Padang Lawas Utara; 21 Padang Lawas; 22 Labuhanbatu Selatan; "
        "23 Labuhanbatu Utara; 24 Nias Utara; 25 Nias Barat; 71 Sibolga; 72 Tanjungbalai; "
        "73 Pematangsiantar; 74 Tebing Tinggi; 75 Medan; 76 Binjai; 77 Padangsidimpuan; "
        "78 Gunungsitoli",
    ),
    (
        "13",
        "Sumatera Barat",
        5.53,
        "01 Kepulauan Mentawai; 02 Pesisir Selatan; 03 Solok; 04 Sijunjung; 05 Tanah Datar; "
        "06 Padang Pariaman; 07 Agam; 08 Lima Puluh Kota; 09 Pasaman; 10 Solok Selatan; "
        "11 Dharmasraya; 12 Pasaman Barat; 71 Padang; 72 Solok; 73 Sawahlunto; "
        "74 Padang Panjang; 75 Bukittinggi; 76 Payakumbuh; 77 Pariaman",
    ),
    (
        "14",
        "Riau",
        6.39,
        "01 Kuantan Singingi; 02 Indragiri Hulu; 03 Indragiri Hilir; 04 Pelalawan; 05 Siak; "
        "06 Kampar; 07 Rokan Hulu; 08 Bengkalis; 09 Rokan Hilir; 10 Kepulauan Meranti; "
        "71 Pekanbaru; 73 Dumai",
    ),
    (
        "15",
        "Jambi",
        3.55,
        "01 Kerinci; 02 Merangin; 03 Sarolangun; 04 Batanghari; 05 Muaro Jambi; "
        "06 Tanjung Jabung Timur; 07 Tanjung Jabung Barat; 08 Tebo; 09 Bungo; 71 Jambi; "
        "72 Sungai Penuh",
    ),
    (
        "16",
        "Sumatera Selatan",
        8.47,
        "01 Ogan Komering Ulu; 02 Ogan Komering Ilir; 03 Muara Enim; 04 Lahat; "
        "05 Musi Rawas; 06 Musi Banyuasin; 07 Banyuasin; 08 Ogan Komering Ulu Selatan; "
        "09 Ogan Komering Ulu Timur; 10 Ogan Ilir; 11 Empat Lawang; "
        "12 Penukal Abab Lematang Ilir; 13 Musi Rawas Utara; 71 Palembang; 72 Prabumulih; "
        "73 Pagar Alam; 74 Lubuklinggau",
    ),
    (
        "17",
        "Bengkulu",
        2.01,
        "01 Bengkulu Selatan; 02 Rejang Lebong; 03 Bengkulu Utara; 04 Kaur; 05 Seluma; "
        "06 Mukomuko; 07 Lebong; 08 Kepahiang; 09 Bengkulu Tengah; 71 Bengkulu",
    ),
    (
        "18",
        "Lampung",
        9.01,
        "01 Lampung Barat; 02 Tanggamus; 03 Lampung Selatan; 04 Lampung Timur; "
        "05 Lampung Tengah; 06 Lampung Utara; 07 Way Kanan; 08 Tulang Bawang; 09 Pesawaran; "
        "10 Pringsewu; 11 Mesuji; 12 Tulang Bawang Barat; 13 Pesisir Barat; "
        "71 Bandar Lampung; 72 Metro",
    ),
    (
        "19",
        "Kepulauan Bangka Belitung",
        1.46,
        "01 Bangka; 02 Belitung; 03 Bangka Barat; 04 Bangka Tengah; 05 Bangka Selatan; "
        "06 Belitung Timur; 71 Pangkalpinang",
    ),
    (
        "21",
        "Kepulauan Riau",
        2.06,
        "01 Karimun; 02 Bintan; 03 Natuna; 04 Lingga; 05 Kepulauan Anambas; 71 Batam; "
        "72 Tanjungpinang",
    ),
    (
        "31",
        "DKI Jakarta",
        10.56,
        "01 Kepulauan Seribu; 71 Jakarta Selatan; 72 Jakarta Timur; 73 Jakarta Pusat; "
        "74 Jakarta Barat; 75 Jakarta Utara",
    ),
    (
        "32",
        "Jawa Barat",
        48.27,
        "01 Bogor; 02 Sukabumi; 03 Cianjur; 04 Bandung; 05 Garut; 06 Tasikmalaya; 07 Ciamis; "
        "08 Kuningan; 09 Cirebon; 10 Majalengka; 11 Sumedang; 12 Indramayu; 13 Subang; "
        "14 Purwakarta; 15 Karawang; 16 Bekasi; 17 Bandung Barat; 18 Pangandaran; 71 Bogor; "
        "72 Sukabumi; 73 Bandung; 74 Cirebon; 75 Bekasi; 76 Depok; 77 Cimahi; "
        "78 Tasikmalaya; 79 Banjar",
    ),
    (
        "33",
        "Jawa Tengah",
        36.52,
        "01 Cilacap; 02 Banyumas; 03 Purbalingga; 04 Banjarnegara; 05 Kebumen; 06 Purworejo; "
        "07 Wonosobo; 08 Magelang; 09 Boyolali; 10 Klaten; 11 Sukoharjo; 12 Wonogiri; "
        "13 Karanganyar; 14 Sragen; 15 Grobogan; 16 Blora; 17 Rembang; 18 Pati; 19 Kudus; "
        "20 Jepara; 21 Demak; 22 Semarang; 23 Temanggung; 24 Kendal; 25 Batang; "
        "26 Pekalongan; 27 Pemalang; 28 Tegal; 29 Brebes; 71 Magelang; 72 Surakarta; "
        "73 Salatiga; 74 Semarang; 75 Pekalongan; 76 Tegal",
    ),
    (
        "34",
        "DI Yogyakarta",
        3.67,
        "01 Kulon Progo; 02 Bantul; 03 Gunungkidul; 04 Sleman; 71 Yogyakarta",
    ),
    (
        "35",
        "Jawa Timur",
        40.67,
        "01 Pacitan; 02 Ponorogo; 03 Trenggalek; 04 Tulungagung; 05 Blitar; 06 Kediri; "
        "07 Malang; 08 Lumajang; 09 Jember; 10 Banyuwangi; 11 Bondowoso; 12 Situbondo; "
        "13 Probolinggo; 14 Pasuruan; 15 Sidoarjo; 16 Mojokerto; 17 Jombang; 18 Nganjuk; "
        "19 Madiun; 20 Magetan; 21 Ngawi; 22 Bojonegoro; 23 Tuban; 24 Lamongan; 25 Gresik; "
        "26 Bangkalan; 27 Sampang; 28 Pamekasan; 29 Sumenep; 71 Kediri; 72 Blitar; "
        "73 Malang; 74 Probolinggo; 75 Pasuruan; 76 Mojokerto; 77 Madiun; 78 Surabaya; "
        "79 Batu",
    ),
    (
        "36",
        "Banten",
        11.90,
        "01 Pandeglang; 02 Lebak; 03 Tangerang; 04 Serang; 71 Tangerang; 72 Cilegon; "
        "73 Serang; 74 Tangerang Selatan",
    ),
    (
        "51",
        "Bali",
        4.32,
        "01 Jembrana; 02 Tabanan; 03 Badung; 04 Gianyar; 05 Klungkung; 06 Bangli; "
        "07 Karangasem; 08 Buleleng; 71 Denpasar",
    ),
    (
        "52",
        "Nusa Tenggara Barat",
        5.32,
        "01 Lombok Barat; 02 Lombok Tengah; 03 Lombok Timur; 04 Sumbawa; 05 Dompu; 06 Bima; "
        "07 Sumbawa Barat; 08 Lombok Utara; 71 Mataram; 72 Bima",
    ),
    (
        "53",
        "Nusa Tenggara Timur",
        5.33,
        "01 Sumba Barat; 02 Sumba Timur; 03 Kupang; 04 Timor Tengah Selatan; "
        "05 Timor Tengah Utara; 06 Belu; 07 Alor; 08 Lembata; 09 Flores Timur; 10 Sikka; "
        "11 Ende; 12 Ngada; 13 Manggarai; 14 Rote Ndao; 15 Manggarai Barat; 16 Sumba Tengah; "
        "17 Sumba Barat Daya; 18 Nagekeo; 19 Manggarai Timur; 20 Sabu Raijua; 21 Malaka; "
        "71 Kupang",
    ),
    (
        "61",
        "Kalimantan Barat",
        5.41,
        "01 Sambas; 02 Bengkayang; 03 Landak; 04 Mempawah; 05 Sanggau; 06 Ketapang; "
        "07 Sintang; 08 Kapuas Hulu; 09 Sekadau; 10 Melawi; 11 Kayong Utara; 12 Kubu Raya; "
        "71 Pontianak; 72 Singkawang",
    ),
    (
        "62",
        "Kalimantan Tengah",
        2.67,
        "01 Kotawaringin Barat; 02 Kotawaringin Timur; 03 Kapuas; 04 Barito Selatan; "
        "05 Barito Utara; 06 Sukamara; 07 Lamandau; 08 Seruyan; 09 Katingan; "
        "10 Pulang Pisau; 11 Gunung Mas; 12 Barito Timur; 13 Murung Raya; 71 Palangka Raya",
    ),
    (
        "63",
        "Kalimantan Selatan",
        4.07,
        "01 Tanah Laut; 02 Kotabaru; 03 Banjar; 04 Barito Kuala; 05 Tapin; "
        "06 Hulu Sungai Selatan; 07 Hulu Sungai Tengah; 08 Hulu Sungai Utara; 09 Tabalong; "
        "10 Tanah Bumbu; 11 Balangan; 71 Banjarmasin; 72 Banjarbaru",
    ),
    (
        "64",
        "Kalimantan Timur",
        3.77,
        "01 Paser; 02 Kutai Barat; 03 Kutai Kartanegara; 04 Kutai Timur; 05 Berau; "
        "09 Penajam Paser Utara; 11 Mahakam Ulu; 71 Balikpapan; 72 Samarinda; 74 Bontang",
    ),
    (
        "65",
        "Kalimantan Utara",
        0.70,
        "01 Malinau; 02 Bulungan; 03 Tana Tidung; 04 Nunukan; 71 Tarakan",
    ),
    (
        "71",
        "Sulawesi Utara",
        2.62,
        "01 Bolaang Mongondow; 02 Minahasa; 03 Kepulauan Sangihe; 04 Kepulauan Talaud; "
        "05 Minahasa Selatan; 06 Minahasa Utara; 07 Bolaang Mongondow Utara; "
        "08 Kepulauan Siau Tagulandang Biaro; 09 Minahasa Tenggara; "
        "10 Bolaang Mongondow Selatan; 11 Bolaang Mongondow Timur; 71 Manado; 72 Bitung; "
        "73 Tomohon; 74 Kotamobagu",
    ),
    (
        "72",
        "Sulawesi Tengah",
        2.99,
        "01 Banggai Kepulauan; 02 Banggai; 03 Morowali; 04 Poso; 05 Donggala; 06 Tolitoli; "
        "07 Buol; 08 Parigi Moutong; 09 Tojo Una-Una; 10 Sigi; 11 Banggai Laut; "
        "12 Morowali Utara; 71 Palu",
    ),
    (
        "73",
        "Sulawesi Selatan",
        9.07,
        "01 Kepulauan Selayar; 02 Bulukumba; 03 Bantaeng; 04 Jeneponto; 05 Takalar; "
        "06 Gowa; 07 Sinjai; 08 Maros; 09 Pangkajene dan Kepulauan; 10 Barru; 11 Bone; "
        "12 Soppeng; 13 Wajo; 14 Sidenreng Rappang; 15 Pinrang; 16 Enrekang; 17 Luwu; "
        "18 Tana Toraja; 22 Luwu Utara; 25 Luwu Timur; 26 Toraja Utara; 71 Makassar; "
        "72 Parepare; 73 Palopo",
    ),
    (
        "74",
        "Sulawesi Tenggara",
        2.62,
        "01 Buton; 02 Muna; 03 Konawe; 04 Kolaka; 05 Konawe Selatan; 06 Bombana; "
        "07 Wakatobi; 08 Kolaka Utara; 09 Buton Utara; 10 Konawe Utara; 11 Kolaka Timur; "
        "12 Konawe Kepulauan; 13 Muna Barat; 14 Buton Tengah; 15 Buton Selatan; "
        "71 Kendari; 72 Baubau",
    ),
    (
        "75",
        "Gorontalo",
        1.17,
        "01 Boalemo; 02 Gorontalo; 03 Pohuwato; 04 Bone Bolango; 05 Gorontalo Utara; 71 Gorontalo",
    ),
    (
        "76",
        "Sulawesi Barat",
        1.42,
        "01 Majene; 02 Polewali Mandar; 03 Mamasa; 04 Mamuju; 05 Pasangkayu; 06 Mamuju Tengah",
    ),
    (
        "81",
        "Maluku",
        1.85,
        "01 Kepulauan Tanimbar; 02 Maluku Tenggara; 03 Maluku Tengah; 04 Buru; "
        "05 Kepulauan Aru; 06 Seram Bagian Barat; 07 Seram Bagian Timur; "
        "08 Maluku Barat Daya; 09 Buru Selatan; 71 Ambon; 72 Tual",
    ),
    (
        "82",
        "Maluku Utara",
        1.28,
        "01 Halmahera Barat; 02 Halmahera Tengah; 03 Kepulauan Sula; 04 Halmahera Selatan; "
        "05 Halmahera Utara; 06 Halmahera Timur; 07 Pulau Morotai; 08 Pulau Taliabu; "
        "71 Ternate; 72 Tidore Kepulauan",
    ),
    (
        "91",
        "Papua Barat",
        1.13,
        "01 Fakfak; 02 Kaimana; 03 Teluk Wondama; 04 Teluk Bintuni; 05 Manokwari; "
        "06 Sorong Selatan; 07 Sorong; 08 Raja Ampat; 09 Tambrauw; 10 Maybrat; "
        "11 Manokwari Selatan; 12 Pegunungan Arfak; 71 Sorong",
    ),
    (
        "94",
        "Papua",
        4.30,
        "01 Merauke; 02 Jayawijaya; 03 Jayapura; 04 Nabire; 08 Kepulauan Yapen; "
        "09 Biak Numfor; 10 Paniai; 11 Puncak Jaya; 12 Mimika; 13 Boven Digoel; 14 Mappi; "
        "15 Asmat; 16 Yahukimo; 17 Pegunungan Bintang; 18 Tolikara; 19 Sarmi; 20 Keerom; "
        "26 Waropen; 27 Supiori; 28 Mamberamo Raya; 29 Nduga; 30 Lanny Jaya; "
        "31 Mamberamo Tengah; 32 Yalimo; 33 Puncak; 34 Dogiyai; 35 Intan Jaya; 36 Deiyai; "
        "71 Jayapura",
    ),
)


def _regencies(province_code: str, listing: str) -> tuple[Regency, ...]:
    regencies = []
    for entry in listing.split(";"):
        suffix, name = entry.strip().split(" ", 1)
        kind = RegencyKind.KOTA if int(suffix) >= 71 else RegencyKind.KABUPATEN
        prefix = "Kota" if kind is RegencyKind.KOTA else "Kabupaten"
        regencies.append(Regency(province_code + suffix, f"{prefix} {name}", kind))
    return tuple(regencies)


PROVINCES: Final[tuple[Province, ...]] = tuple(
    Province(code, name, population, _regencies(code, listing))
    for code, name, population, listing in _SOURCE
)
